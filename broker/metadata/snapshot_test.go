package metadata

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRecordsRebuildTheImage(t *testing.T) {
	id := NewTopicID()
	v := "compact"
	im, err := NewImage("c1").Apply(
		Record{Broker: &BrokerRecord{NodeID: 2, Host: "127.0.0.1", Port: 9093}},
		Record{Broker: &BrokerRecord{NodeID: 1, Host: "127.0.0.1", Port: 9092}},
		Record{Topic: &TopicRecord{Name: "t", TopicID: id}},
		Record{Partition: &PartitionRecord{TopicID: id, Partition: 0, Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: 1, LeaderEpoch: 3}},
		Record{Partition: &PartitionRecord{TopicID: id, Partition: 1, Replicas: []int32{2, 1}, ISR: []int32{2}, Leader: 2}},
		Record{Config: &ConfigRecord{Topic: "t", Name: "cleanup.policy", Value: &v}},
		Record{ProducerIDs: &ProducerIDsRecord{Broker: 1, NextProducerID: 2000}},
	)
	require.NoError(t, err)
	gone := NewTopicID()
	im, err = im.Apply(Record{Topic: &TopicRecord{Name: "gone", TopicID: gone}}, Record{RemoveTopic: &RemoveTopicRecord{TopicID: gone}})
	require.NoError(t, err)

	rebuilt, err := NewImage("c1").Apply(im.Records()...)
	require.NoError(t, err)
	require.Equal(t, im, rebuilt)
	require.Equal(t, im.Records(), rebuilt.Records(), "a snapshot of the rebuilt image is the same snapshot")

	empty, err := NewImage("c1").Apply(NewImage("c1").Records()...)
	require.NoError(t, err)
	require.Equal(t, NewImage("c1"), empty)
}
