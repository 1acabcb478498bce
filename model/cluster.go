// Package model is the sequential specification of what a Kafka client can
// observe from Ordo: topics and partitions, records at offsets (dense unless
// compacted), the log start offset and the high watermark, idempotent
// producers' sequence windows, committed consumer-group offsets,
// DeleteRecords and compaction.
//
// It is a pure state machine in the style of etcd-io/raft: every operation
// takes values and returns values, with no goroutines, clocks or I/O, so the
// same sequence of calls always gives the same answers. A differential test
// runs one sequence against the model and a live broker and compares; the
// broker's decision procedures may also call it directly.
//
// The model is of a single healthy cluster in which every acknowledged write
// is committed at once: the high watermark equals the log end offset.
// Replication, timeouts and failures are not specified here; they are what
// the history checkers in package linearizability judge.
//
// It is the one statement of what Kafka promises a client. The history
// checkers do not restate it: their porcupine models (a partition's log end
// offset, a group's committed offset) are abstractions of this one, held to
// it step by step, and the synthetic histories their large tests check are
// this model's answers (linearizability/spec_test.go).
//
// Where the model differs from Apache Kafka, on purpose:
//   - Producer state is never expired, and DeleteRecords keeps it. A
//     producer's first batch on a partition must carry sequence 0, else
//     UNKNOWN_PRODUCER_ID: the broker's rule (broker/partition), Kafka's
//     before 2.5; Kafka 2.5+ accepts any first sequence (KIP-360).
//   - Fetch returns records from the requested offset exactly; Kafka returns
//     whole batches and clients drop the records before the offset.
//   - Compaction happens only when Compact is called, over an offset range
//     the caller names; Kafka's cleaner picks its range and its moment.
//   - Offset commits need no group membership (kgo, like every client, may
//     commit for a group with no members: generation -1).
package model

import "strings"

// DefaultPartitions is the partition count of a topic created with -1
// partitions, as Kafka's num.partitions default.
const DefaultPartitions = 1

// maxTopicNameLength is Kafka's limit (249: room for the partition suffix
// in a 255-byte file name).
const maxTopicNameLength = 249

// Record is one record of a partition. Offset is assigned by the log: it is
// ignored in a produce request and set in a fetch response.
type Record struct {
	Offset int64
	// Key "" stands for a record without a key: the model does not tell a
	// null key from an empty one (Kafka does).
	Key   string
	Value string
	// Tombstone says the value is null (Value is then ""): in a compacted
	// topic, the record deletes its key (see Compact).
	Tombstone bool
}

// Cluster is the whole observable state. The zero value is not usable: call
// New.
type Cluster struct {
	topics         map[string][]*partitionLog
	producerEpochs map[int64]int16 // producer id → the epoch InitProducerID last handed out
	nextProducerID int64
	committed      map[groupPartition]int64
}

// New returns an empty cluster: no topics, no producers, no groups.
func New() *Cluster {
	return &Cluster{
		topics:         map[string][]*partitionLog{},
		producerEpochs: map[int64]int16{},
		committed:      map[groupPartition]int64{},
	}
}

// Clone returns an independent deep copy, so a caller can explore two
// futures of one state.
func (c *Cluster) Clone() *Cluster {
	n := &Cluster{
		topics:         make(map[string][]*partitionLog, len(c.topics)),
		producerEpochs: make(map[int64]int16, len(c.producerEpochs)),
		nextProducerID: c.nextProducerID,
		committed:      make(map[groupPartition]int64, len(c.committed)),
	}
	for name, parts := range c.topics {
		cp := make([]*partitionLog, len(parts))
		for i, p := range parts {
			cp[i] = p.clone()
		}
		n.topics[name] = cp
	}
	for id, e := range c.producerEpochs {
		n.producerEpochs[id] = e
	}
	for k, v := range c.committed {
		n.committed[k] = v
	}
	return n
}

// CreateTopic adds a topic with empty partitions. partitions -1 means
// DefaultPartitions.
func (c *Cluster) CreateTopic(name string, partitions int32) ErrorCode {
	if !validTopicName(name) {
		return InvalidTopicException
	}
	// Kafka's controller answers TOPIC_ALREADY_EXISTS before it looks at
	// the rest of the request (ReplicationControlManager.createTopics).
	if _, ok := c.topics[name]; ok {
		return TopicAlreadyExists
	}
	if partitions == -1 {
		partitions = DefaultPartitions
	}
	if partitions < 1 {
		return InvalidPartitions
	}
	parts := make([]*partitionLog, partitions)
	for i := range parts {
		parts[i] = newPartitionLog()
	}
	c.topics[name] = parts
	return None
}

// Partitions is the partition count of a topic, or 0 if it does not exist.
func (c *Cluster) Partitions(topic string) int32 {
	return int32(len(c.topics[topic]))
}

// partition is the log of topic-partition, or nil.
func (c *Cluster) partition(topic string, partition int32) *partitionLog {
	parts := c.topics[topic]
	if partition < 0 || int(partition) >= len(parts) {
		return nil
	}
	return parts[partition]
}

// validTopicName is Kafka's rule: 1 to 249 of [a-zA-Z0-9._-], and neither
// "." nor "..".
func validTopicName(name string) bool {
	if name == "" || len(name) > maxTopicNameLength || name == "." || name == ".." {
		return false
	}
	return !strings.ContainsFunc(name, func(r rune) bool {
		return !(r == '.' || r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	})
}
