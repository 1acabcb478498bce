package metadata

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestApplyBuildsTopics(t *testing.T) {
	id := NewTopicID()
	v := "1000"
	im, err := NewImage("c").Apply(
		Record{Broker: &BrokerRecord{NodeID: 1, Host: "127.0.0.1", Port: 9092}},
		Record{Topic: &TopicRecord{Name: "t", TopicID: id}},
		Record{Partition: &PartitionRecord{TopicID: id, Partition: 0, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1}},
		Record{Partition: &PartitionRecord{TopicID: id, Partition: 1, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1}},
		Record{Config: &ConfigRecord{Topic: "t", Name: "retention.ms", Value: &v}},
	)
	require.NoError(t, err)
	require.Equal(t, []string{"t"}, im.TopicNames())
	tp := im.Topics["t"]
	require.Len(t, tp.Partitions, 2)
	require.Equal(t, map[string]string{"retention.ms": "1000"}, tp.Configs)
	byID, ok := im.TopicByID(id)
	require.True(t, ok)
	require.Same(t, tp, byID)

	// A leader change replaces the partition's state; the old image is
	// untouched.
	next, err := im.Apply(Record{Partition: &PartitionRecord{TopicID: id, Partition: 1, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1, LeaderEpoch: 1}})
	require.NoError(t, err)
	require.Equal(t, int32(1), next.Topics["t"].Partitions[1].LeaderEpoch)
	require.Equal(t, int32(0), im.Topics["t"].Partitions[1].LeaderEpoch)

	// Removing a config and the topic.
	next, err = next.Apply(Record{Config: &ConfigRecord{Topic: "t", Name: "retention.ms"}})
	require.NoError(t, err)
	require.Empty(t, next.Topics["t"].Configs)
	require.Equal(t, "1000", im.Topics["t"].Configs["retention.ms"])
	next, err = next.Apply(Record{RemoveTopic: &RemoveTopicRecord{TopicID: id}})
	require.NoError(t, err)
	require.Empty(t, next.TopicNames())
	_, ok = next.TopicByID(id)
	require.False(t, ok)
	// The image remembers what was deleted (a folder holding this id may
	// go); the older image does not.
	require.True(t, next.WasDeleted(id))
	require.False(t, im.WasDeleted(id))
	require.False(t, next.WasDeleted(NewTopicID()))
	later, err := next.Apply(Record{Topic: &TopicRecord{Name: "t", TopicID: NewTopicID()}})
	require.NoError(t, err)
	require.True(t, later.WasDeleted(id), "a new topic of the same name keeps the old id deleted")
}

func TestApplyRejectsRecordsThatDoNotFit(t *testing.T) {
	id := NewTopicID()
	base, err := NewImage("c").Apply(Record{Topic: &TopicRecord{Name: "t", TopicID: id}})
	require.NoError(t, err)
	for name, r := range map[string]Record{
		"duplicate name":       {Topic: &TopicRecord{Name: "t", TopicID: NewTopicID()}},
		"duplicate id":         {Topic: &TopicRecord{Name: "u", TopicID: id}},
		"partition of unknown": {Partition: &PartitionRecord{TopicID: NewTopicID()}},
		"partition gap":        {Partition: &PartitionRecord{TopicID: id, Partition: 3}},
		"config of unknown":    {Config: &ConfigRecord{Topic: "nope", Name: "x"}},
		"remove unknown":       {RemoveTopic: &RemoveTopicRecord{TopicID: NewTopicID()}},
		"empty":                {},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := base.Apply(r)
			require.Error(t, err)
		})
	}
}

func TestValidateTopicName(t *testing.T) {
	long := make([]byte, 250)
	for i := range long {
		long[i] = 'a'
	}
	for _, bad := range []string{"", ".", "..", "a b", "a/b", "ü", string(long)} {
		require.ErrorIs(t, ValidateTopicName(bad), ErrInvalidTopic, bad)
	}
	for _, good := range []string{"a", "A-b_c.d", "__consumer_offsets", string(long[:249])} {
		require.NoError(t, ValidateTopicName(good), good)
	}
}

func TestTopicIDText(t *testing.T) {
	id := NewTopicID()
	b, err := id.MarshalText()
	require.NoError(t, err)
	var back TopicID
	require.NoError(t, back.UnmarshalText(b))
	require.Equal(t, id, back)
	require.Error(t, back.UnmarshalText([]byte("xyz")))
}

func TestInternalTopicsByName(t *testing.T) {
	for _, name := range []string{"__consumer_offsets", "__transaction_state", "__share_group_state"} {
		require.True(t, IsInternalTopic(name), name)
	}
	for _, name := range []string{"__cluster_metadata", "consumer_offsets", "__consumer.offsets", "t"} {
		require.False(t, IsInternalTopic(name), name)
	}
	// A record an older Ordo wrote for a client's __consumer_offsets says
	// nothing of internal; the image knows better.
	im, err := NewImage("c").Apply(Record{Topic: &TopicRecord{Name: "__consumer_offsets", TopicID: NewTopicID()}})
	require.NoError(t, err)
	require.True(t, im.Topics["__consumer_offsets"].Internal)
}

func TestCollidingTopic(t *testing.T) {
	im, err := NewImage("c").Apply(
		Record{Topic: &TopicRecord{Name: "col.lide", TopicID: NewTopicID()}},
		Record{Topic: &TopicRecord{Name: "plain", TopicID: NewTopicID()}},
	)
	require.NoError(t, err)
	legacy, err := im.Apply(Record{Topic: &TopicRecord{Name: "__consumer.offsets", TopicID: NewTopicID()}})
	require.NoError(t, err)
	_, ok := legacy.CollidingTopic("__consumer_offsets")
	require.False(t, ok, "an older Ordo's colliding topic never blocks the broker's own")
	for name, want := range map[string]string{
		"col_lide":            "col.lide",
		"col.lide":            "", // itself: it exists, no collision
		"col-lide":            "",
		"col..lide":           "",
		"plain":               "",
		"__consumer.offsets":  "__consumer_offsets", // reserved even before it exists
		"__consumer_offsets":  "",
		"_.transaction_state": "__transaction_state",
		"__transaction.state": "__transaction_state",
	} {
		got, ok := im.CollidingTopic(name)
		require.Equal(t, want != "", ok, name)
		require.Equal(t, want, got, name)
	}
}
