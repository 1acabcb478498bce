package model

// groupPartition names one committed offset: a group's position in one
// partition.
type groupPartition struct {
	group     string
	topic     string
	partition int32
}

// CommitOffset stores a group's committed offset for a partition. Any offset
// is accepted, lower ones too: a consumer that seeks back commits backwards,
// and Kafka stores what it is given.
func (c *Cluster) CommitOffset(group, topic string, partition int32, offset int64) ErrorCode {
	if group == "" {
		return InvalidGroupID
	}
	if c.partition(topic, partition) == nil {
		return UnknownTopicOrPartition
	}
	c.committed[groupPartition{group, topic, partition}] = offset
	return None
}

// FetchOffset answers a group's committed offset for a partition, -1 when
// nothing was committed (Kafka answers -1 without an error, unknown topics
// included).
func (c *Cluster) FetchOffset(group, topic string, partition int32) (int64, ErrorCode) {
	if group == "" {
		return -1, InvalidGroupID
	}
	if off, ok := c.committed[groupPartition{group, topic, partition}]; ok {
		return off, None
	}
	return -1, None
}
