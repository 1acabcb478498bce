package clienttest

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/ordo-broker/ordo/broker/ordotest"
	"github.com/ordo-broker/ordo/broker/storage"
	"github.com/ordo-broker/ordo/model"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestFsyncFailureStopsTheBroker: when a partition log's fsync fails, the
// produce waiting for it is answered KAFKA_STORAGE_ERROR (never success),
// the broker stops on its own (Done, Err), later produces fail, and after a
// restart from the same disk every acknowledged record is there, at its
// offset, and nothing corrupt is served. Records answered with an error may
// or may not be there: a failed fsync may still have written them. Twice:
// a power loss (unsynced bytes gone, the last write torn) and a plain
// restart (the page cache kept them).
func TestFsyncFailureStopsTheBroker(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 90*time.Second)
	mem := fs.NewMem()
	b := ordotest.Start(t, ordotest.WithMemFS(mem))
	const topic = "fsync-failure"
	createTopic(t, ctx, newAdmin(t, b), topic, 2, nil)
	acked := map[int32][]rec{}
	unacked := map[string]bool{}

	for round, restart := range []func(){
		func() { b.Crash(tornCrash(t)) },
		b.Restart,
	} {
		// Acknowledged records, in both partitions.
		cl := newClient(t, b)
		rs := keyedRecords(topic, 100, pastBase().Add(time.Duration(round)*time.Minute))
		produceAll(t, ctx, cl, rs)
		for p, l := range produced(rs) {
			acked[p] = append(acked[p], l...)
		}
		requireDenseFromZero(t, acked)

		mem.FailSync(syscall.EIO)
		value := fmt.Sprintf("unacknowledged-%d", round)
		unacked[value] = true
		resp := rawProduce(t, ctx, cl, b, topic, 0, value)
		require.Equal(t, kerr.KafkaStorageError.Code, resp.ErrorCode,
			"the produce whose fsync failed is answered KAFKA_STORAGE_ERROR: %+v", resp)
		require.EqualValues(t, -1, resp.BaseOffset)

		select {
		case <-b.Done():
		case <-ctx.Done():
			t.Fatal("the broker did not stop after its fsync failed")
		}
		require.ErrorIs(t, b.Err(), storage.ErrLogFailed)
		require.ErrorIs(t, b.Err(), syscall.EIO)

		// Stopped: a later produce is never acknowledged.
		late := &kgo.Record{Topic: topic, Partition: 1, Value: []byte(fmt.Sprintf("late-%d", round))}
		unacked[string(late.Value)] = true
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := newClient(t, b, kgo.RecordPartitioner(kgo.ManualPartitioner())).ProduceSync(pctx, late).FirstErr()
		cancel()
		require.Error(t, err, "a stopped broker acknowledges nothing")

		mem.FailSync(nil)
		restart()
		require.NoError(t, b.Err(), "the restarted broker runs")
		requireAckedSurvive(t, acked, unacked, drain(t, ctx, b, topic))
		// Acknowledged records past whatever survived unacknowledged
		// continue the log: count those as part of it.
		for p, l := range drain(t, ctx, b, topic) {
			acked[p] = l
		}
	}
}

// requireAckedSurvive fails unless each partition of got starts with the
// acknowledged records of want, at their offsets, and holds nothing after
// them but values from unacked.
func requireAckedSurvive(t *testing.T, want map[int32][]rec, unacked map[string]bool, got map[int32][]rec) {
	t.Helper()
	for p, w := range want {
		g := got[p]
		require.GreaterOrEqual(t, len(g), len(w), "partition %d: acknowledged records lost", p)
		requireSameLog(t, map[int32][]rec{p: w}, map[int32][]rec{p: g[:len(w)]})
		for _, r := range g[len(w):] {
			require.True(t, unacked[string(r.Value)], "partition %d offset %d: %q was never produced", p, r.Offset, r.Value)
		}
	}
}

// rawProduce sends one record to topic/partition with acks=all on a request
// of its own (no client retries) and returns the partition's answer.
func rawProduce(t *testing.T, ctx context.Context, cl *kgo.Client, b *ordotest.Broker, topic string, partition int32, value string) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = -1, 10_000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition = partition
	rp.Records = idempotentBatch(-1, -1, -1, []model.Record{{Key: "k", Value: value}})
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl.Broker(int(b.NodeID())))
	require.NoError(t, err, "the produce in flight is answered before the broker closes")
	require.Len(t, resp.Topics, 1)
	require.Len(t, resp.Topics[0].Partitions, 1)
	return resp.Topics[0].Partitions[0]
}

// TestCloseIsNotAFailure: Done is closed by Close too, and Err stays nil:
// only a fail-stop sets it.
func TestCloseIsNotAFailure(t *testing.T) {
	t.Parallel()
	b := ordotest.Start(t)
	select {
	case <-b.Done():
		t.Fatal("Done closed while the broker runs")
	default:
	}
	require.NoError(t, b.Close())
	select {
	case <-b.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("Done not closed after Close")
	}
	require.NoError(t, b.Err())
}
