package controller

import (
	"testing"

	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/ordo-broker/ordo/broker/metadata"
	"github.com/ordo-broker/ordo/broker/topicconfig"
	"github.com/stretchr/testify/require"
)

func open(t *testing.T, m *fs.Mem) *Controller {
	t.Helper()
	c, err := Open(m, "/data/__cluster_metadata-0", "cluster", nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

var defaults = Defaults{NumPartitions: 3, ReplicationFactor: 1}

func TestCreateTopicValidates(t *testing.T) {
	m := fs.NewMem()
	require.NoError(t, m.MkdirAll("/data", 0o755))
	c := open(t, m)
	require.NoError(t, c.RegisterBroker(metadata.BrokerRecord{NodeID: 0, Host: "127.0.0.1", Port: 9092}))

	for name, tc := range map[string]struct {
		ct   CreateTopic
		want error
	}{
		"bad name":       {CreateTopic{Name: "a b", NumPartitions: 1, ReplicationFactor: 1}, metadata.ErrInvalidTopic},
		"metadata topic": {CreateTopic{Name: "__cluster_metadata", NumPartitions: 1, ReplicationFactor: 1}, ErrReservedTopic},
		"zero parts":     {CreateTopic{Name: "t", NumPartitions: 0, ReplicationFactor: 1}, ErrInvalidPartitions},
		"rf too big":     {CreateTopic{Name: "t", NumPartitions: 1, ReplicationFactor: 2}, ErrInvalidReplicationFactor},
		"rf zero":        {CreateTopic{Name: "t", NumPartitions: 1, ReplicationFactor: 0}, ErrInvalidReplicationFactor},
		"too many parts": {CreateTopic{Name: "t", NumPartitions: 33554432, ReplicationFactor: 1}, ErrInvalidPartitions},
		"bad config":     {CreateTopic{Name: "t", NumPartitions: 1, ReplicationFactor: 1, Configs: map[string]string{"retention.ms": "x"}}, topicconfig.ErrInvalidConfig},
		"unknown config": {CreateTopic{Name: "t", NumPartitions: 1, ReplicationFactor: 1, Configs: map[string]string{"nope": "1"}}, topicconfig.ErrInvalidConfig},
		"unknown broker": {CreateTopic{Name: "t", NumPartitions: -1, ReplicationFactor: -1, Assignment: [][]int32{{7}}}, ErrInvalidReplicaAssignment},
		"dup replica":    {CreateTopic{Name: "t", NumPartitions: -1, ReplicationFactor: -1, Assignment: [][]int32{{0, 0}}}, ErrInvalidReplicaAssignment},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.CreateTopic(tc.ct, defaults, false)
			require.ErrorIs(t, err, tc.want)
		})
	}
	require.Empty(t, c.Image().TopicNames(), "nothing invalid was created")

	// Validate-only creates nothing but answers as if it had.
	tp, err := c.CreateTopic(CreateTopic{Name: "t", NumPartitions: -1, ReplicationFactor: -1}, defaults, true)
	require.NoError(t, err)
	require.Len(t, tp.Partitions, 3)
	require.Empty(t, c.Image().TopicNames())

	_, err = c.CreateTopic(CreateTopic{Name: "t", NumPartitions: 2, ReplicationFactor: 1}, defaults, false)
	require.NoError(t, err)
	_, err = c.CreateTopic(CreateTopic{Name: "t", NumPartitions: 2, ReplicationFactor: 1}, defaults, false)
	require.ErrorIs(t, err, ErrTopicExists)

	// Kafka's internal names make internal topics, whoever asks.
	tp, err = c.CreateTopic(CreateTopic{Name: "__transaction_state", NumPartitions: 1, ReplicationFactor: 1}, defaults, false)
	require.NoError(t, err)
	require.True(t, tp.Internal)
}

func TestChangesSurviveCrash(t *testing.T) {
	m := fs.NewMem()
	require.NoError(t, m.MkdirAll("/data", 0o755))
	require.NoError(t, m.SyncDir("/"))
	c := open(t, m)
	require.NoError(t, c.RegisterBroker(metadata.BrokerRecord{NodeID: 0, Host: "127.0.0.1", Port: 9092}))
	var seen []*metadata.Image
	c.Subscribe(func(_, next *metadata.Image) { seen = append(seen, next) })

	_, err := c.CreateTopic(CreateTopic{Name: "a", NumPartitions: 2, ReplicationFactor: 1, Configs: map[string]string{"retention.ms": "1000"}}, defaults, false)
	require.NoError(t, err)
	_, err = c.CreateTopic(CreateTopic{Name: "b", NumPartitions: 1, ReplicationFactor: 1}, defaults, false)
	require.NoError(t, err)
	require.NoError(t, c.CreatePartitions("a", 4, nil, false))
	require.ErrorIs(t, c.CreatePartitions("a", 4, nil, false), ErrInvalidPartitions)
	require.ErrorIs(t, c.CreatePartitions("a", 3, nil, false), ErrInvalidPartitions)
	require.ErrorIs(t, c.CreatePartitions("a", 33554432, nil, false), ErrInvalidPartitions, "a fuzzed count must not exhaust memory")
	require.NoError(t, c.UpdateConfigs("a", func(cur map[string]string) (map[string]string, error) {
		cur["cleanup.policy"] = "compact"
		delete(cur, "retention.ms")
		return cur, nil
	}, false))
	require.ErrorIs(t, c.UpdateConfigs("a", func(cur map[string]string) (map[string]string, error) {
		cur["segment.ms"] = "-5"
		return cur, nil
	}, false), topicconfig.ErrInvalidConfig)
	_, err = c.DeleteTopic("b", metadata.TopicID{})
	require.NoError(t, err)
	_, err = c.DeleteTopic("b", metadata.TopicID{})
	require.ErrorIs(t, err, ErrUnknownTopic)
	require.Len(t, seen, 6, "the subscriber saw the first image and every change")

	m.Crash(fs.CrashOptions{})
	c2 := open(t, m)
	im := c2.Image()
	require.Equal(t, []string{"a"}, im.TopicNames())
	require.Len(t, im.Topics["a"].Partitions, 4)
	require.Equal(t, map[string]string{"cleanup.policy": "compact"}, im.Topics["a"].Configs)
	require.Contains(t, im.Brokers, int32(0))
}
