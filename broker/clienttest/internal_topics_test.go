package clienttest

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ordo-broker/ordo/broker"
	"github.com/ordo-broker/ordo/broker/group"
	"github.com/ordo-broker/ordo/broker/ordotest"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Kafka's internal topics belong to the broker: clients may ask for them by
// name, but they are created as the broker would create them, and only the
// broker writes them.

// autoCreateMetadata asks for topics with auto-creation allowed, as a
// producer or consumer with auto-creation on does.
func autoCreateMetadata(t *testing.T, cl *kgo.Client, topics ...string) map[string]kmsg.MetadataResponseTopic {
	t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	req.AllowAutoTopicCreation = true
	for _, name := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(name)
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(testContext(t, 30*time.Second), cl)
	require.NoError(t, err)
	got := map[string]kmsg.MetadataResponseTopic{}
	for _, rt := range resp.Topics {
		got[*rt.Topic] = rt
	}
	return got
}

// forgedOffsetCommit is the record the group coordinator writes when group
// commits offset for topic's partition 0.
func forgedOffsetCommit(groupID, topic string, offset int64) *kgo.Record {
	k := kmsg.NewOffsetCommitKey()
	k.Version, k.Group, k.Topic, k.Partition = 1, groupID, topic, 0
	v := kmsg.NewOffsetCommitValue()
	v.Version, v.Offset, v.LeaderEpoch = 3, offset, -1
	return &kgo.Record{Topic: group.OffsetsTopic, Key: k.AppendTo(nil), Value: v.AppendTo(nil)}
}

func requireCommitted(t *testing.T, adm *kadm.Client, groupID, topic string, want int64) {
	t.Helper()
	fetched, err := adm.FetchOffsets(testContext(t, 30*time.Second), groupID)
	require.NoError(t, err)
	require.NoError(t, fetched.Error())
	o, ok := fetched.Lookup(topic, 0)
	require.True(t, ok)
	require.Equal(t, want, o.At)
}

// TestInternalTopicsAutoCreate: Metadata auto-creation of
// __consumer_offsets before any group exists creates it as the group
// coordinator does (internal, offsets.topic.num.partitions, compacted), as
// Kafka does; the other internal names are not created; and nothing a
// client produces lands in __consumer_offsets, so a forged offset commit
// changes no group's offsets, before or after a restart.
func TestInternalTopicsAutoCreate(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 60*time.Second)
	b := startGroupBroker(t) // 4 partitions of __consumer_offsets
	cl := newClient(t, b, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	adm := newAdmin(t, b)

	got := autoCreateMetadata(t, cl, "__consumer_offsets", "__transaction_state", "__share_group_state", "__cluster_metadata")
	offsets := got["__consumer_offsets"]
	require.Equal(t, int16(0), offsets.ErrorCode)
	require.True(t, offsets.IsInternal)
	require.Len(t, offsets.Partitions, 4, "offsets.topic.num.partitions, not num.partitions")
	for _, name := range []string{"__transaction_state", "__share_group_state", "__cluster_metadata"} {
		require.Equal(t, kerr.UnknownTopicOrPartition.Code, got[name].ErrorCode, name)
	}
	listed, err := adm.ListTopicsWithInternal(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"__consumer_offsets"}, listed.Names())
	configs, err := adm.DescribeTopicConfigs(ctx, "__consumer_offsets")
	require.NoError(t, err)
	require.NoError(t, configs[0].Err)
	policy := ""
	for _, c := range configs[0].Configs {
		if c.Key == "cleanup.policy" && c.Value != nil {
			policy = *c.Value
		}
	}
	require.Equal(t, "compact", policy)

	// A group with a committed offset; then a forged commit record
	// produced straight into the group's partition is refused.
	createTopic(t, ctx, adm, "orders", 1, nil)
	commit := kadm.Offsets{}
	commit.Add(kadm.Offset{Topic: "orders", Partition: 0, At: 5, LeaderEpoch: -1})
	resp, err := adm.CommitOffsets(ctx, "g", commit)
	require.NoError(t, err)
	require.NoError(t, resp.Error())
	forged := forgedOffsetCommit("g", "orders", 999)
	forged.Partition = group.PartitionFor("g", 4)
	err = cl.ProduceSync(ctx, forged).FirstErr()
	require.ErrorIs(t, err, kerr.InvalidTopicException)

	requireCommitted(t, adm, "g", "orders", 5)
	b.Restart()
	requireCommitted(t, newAdmin(t, b), "g", "orders", 5)
}

// TestInternalTopicsCreateTopics: CreateTopics of __cluster_metadata is
// refused as KRaft refuses it; CreateTopics of __consumer_offsets creates it
// internal with the client's partition count (Kafka allows this), which
// the group coordinator then uses, and which clients cannot write.
func TestInternalTopicsCreateTopics(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 60*time.Second)
	b := startGroupBroker(t)
	adm := newAdmin(t, b)

	resp, err := adm.CreateTopic(ctx, 1, 1, nil, "__cluster_metadata")
	require.ErrorIs(t, err, kerr.InvalidRequest)
	require.Contains(t, resp.ErrMessage, "Creation of internal topic __cluster_metadata is prohibited.")

	createTopic(t, ctx, adm, "__consumer_offsets", 2, nil)
	listed, err := adm.ListTopicsWithInternal(ctx, "__consumer_offsets")
	require.NoError(t, err)
	require.True(t, listed["__consumer_offsets"].IsInternal)
	require.Len(t, listed["__consumer_offsets"].Partitions, 2)

	createTopic(t, ctx, adm, "orders", 1, nil)
	commit := kadm.Offsets{}
	commit.Add(kadm.Offset{Topic: "orders", Partition: 0, At: 3, LeaderEpoch: -1})
	cresp, err := adm.CommitOffsets(ctx, "g", commit)
	require.NoError(t, err)
	require.NoError(t, cresp.Error())
	requireCommitted(t, adm, "g", "orders", 3)

	err = newClient(t, b).ProduceSync(ctx, forgedOffsetCommit("g", "orders", 999)).FirstErr()
	require.ErrorIs(t, err, kerr.InvalidTopicException)
}

// TestOffsetsTopicCreatedByAnOlderOrdo: a data directory where an older
// Ordo let a client auto-create __consumer_offsets as an ordinary topic
// (its metadata record does not say internal). The topic is internal
// anyway: it says so in Metadata, and clients cannot write it.
func TestOffsetsTopicCreatedByAnOlderOrdo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	meta := filepath.Join(dir, "__cluster_metadata-0")
	require.NoError(t, os.MkdirAll(meta, 0o755))
	const id = "0123456789abcdef0123456789abcdef"
	require.NoError(t, os.WriteFile(filepath.Join(meta, "metadata.log"), []byte(
		`[{"broker":{"node_id":0,"host":"127.0.0.1","port":9}}]`+"\n"+
			`[{"topic":{"name":"__consumer_offsets","topic_id":"`+id+`"}},{"partition":{"topic_id":"`+id+`","partition":0,"replicas":[0],"isr":[0],"leader":0,"leader_epoch":0,"partition_epoch":0}}]`+"\n"),
		0o644))
	b := startGroupBroker(t, ordotest.WithConfig(func(c *broker.Config) { c.DataDir = dir }))
	ctx := testContext(t, 60*time.Second)
	adm := newAdmin(t, b)

	listed, err := adm.ListTopicsWithInternal(ctx, "__consumer_offsets")
	require.NoError(t, err)
	require.True(t, listed["__consumer_offsets"].IsInternal)
	err = newClient(t, b).ProduceSync(ctx, forgedOffsetCommit("g", "orders", 999)).FirstErr()
	require.ErrorIs(t, err, kerr.InvalidTopicException)
}
