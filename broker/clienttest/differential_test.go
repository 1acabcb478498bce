package clienttest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/ordo-broker/ordo/broker"
	"github.com/ordo-broker/ordo/broker/ordotest"
	"github.com/ordo-broker/ordo/model"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestDifferentialAgainstModel runs seeded random operations against a live
// broker, through franz-go, and against the sequential model (model/); every
// answer must agree: base offsets, records, high watermarks, log start
// offsets and error codes. ORDO_SEED=N replays a run.
func TestDifferentialAgainstModel(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("ORDO_SEED"); s != "" {
		var err error
		seed, err = strconv.ParseUint(s, 10, 64)
		require.NoError(t, err)
	}
	t.Logf("seed %d (replay with ORDO_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed))

	b := ordotest.Start(t, ordotest.WithConfig(func(c *broker.Config) { c.AutoCreateTopics = false }))
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.DisableIdempotentWrite(), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(0))
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	ctx := testContext(t, 2*time.Minute)
	m := model.New()
	// Admin and read requests go straight to the broker (node 0): kgo's
	// sharding would answer some of them itself (an invalid topic name),
	// and the point is what the broker answers.

	topics := []string{"a", "b", "bad name"}
	var produced, readRecords int
	defer func() { t.Logf("%d records produced, %d read back and compared", produced, readRecords) }()
	for step := 0; step < 1000; step++ {
		topic := topics[rng.IntN(len(topics))]
		partition := int32(rng.IntN(3))
		where := fmt.Sprintf("step %d (seed %d)", step, seed)
		switch op := rng.IntN(10); {
		case op == 0: // create
			n := int32(rng.IntN(3)) // 0 is invalid
			want := m.CreateTopic(topic, n)
			req := kmsg.NewPtrCreateTopicsRequest()
			rt := kmsg.NewCreateTopicsRequestTopic()
			rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, n, 1
			req.Topics = append(req.Topics, rt)
			resp, err := req.RequestWith(ctx, cl.Broker(0))
			require.NoError(t, err, where)
			require.Equal(t, int16(want), resp.Topics[0].ErrorCode, "create %q/%d: %s", topic, n, where)
		case op <= 4: // produce one batch
			if m.Partitions(topic) <= partition {
				continue // kgo would wait for metadata of a partition that does not exist
			}
			n := 1 + rng.IntN(5)
			var recs []model.Record
			var krecs []*kgo.Record
			for i := 0; i < n; i++ {
				k, v := fmt.Sprintf("k%d", rng.IntN(4)), fmt.Sprintf("v%d-%d", step, i)
				recs = append(recs, model.Record{Key: k, Value: v})
				krecs = append(krecs, &kgo.Record{Topic: topic, Partition: partition, Key: []byte(k), Value: []byte(v)})
			}
			want := m.Produce(model.ProduceRequest{Topic: topic, Partition: partition, Records: recs, ProducerID: -1})
			res := cl.ProduceSync(ctx, krecs...)
			require.NoError(t, res.FirstErr(), where)
			require.Equal(t, want.BaseOffset, krecs[0].Offset, "base offset: %s", where)
			produced += n
			for i, r := range krecs {
				require.Equal(t, want.BaseOffset+int64(i), r.Offset, "offsets are consecutive: %s", where)
			}
		case op <= 6: // fetch
			hw, _ := m.ListOffsets(topic, partition, model.Latest)
			offset := hw - int64(rng.IntN(8)) + 1 // sometimes past the end or below the start
			want := m.Fetch(model.FetchRequest{Topic: topic, Partition: partition, Offset: offset})
			got := fetchAll(t, cl, topic, partition, offset)
			require.Equal(t, int16(want.Err), got.Err, "fetch %s/%d@%d error: %s", topic, partition, offset, where)
			if want.Err == model.None {
				require.Equal(t, want.HighWatermark, got.HighWatermark, where)
				require.Equal(t, want.LogStartOffset, got.LogStartOffset, where)
				require.Equal(t, want.Records, got.Records, "fetch %s/%d@%d: %s", topic, partition, offset, where)
				readRecords += len(got.Records)
			}
		case op == 7: // list offsets
			spec := []model.OffsetSpec{model.Latest, model.Earliest}[rng.IntN(2)]
			want, code := m.ListOffsets(topic, partition, spec)
			req := kmsg.NewPtrListOffsetsRequest()
			rt := kmsg.NewListOffsetsRequestTopic()
			rt.Topic = topic
			rp := kmsg.NewListOffsetsRequestTopicPartition()
			rp.Partition, rp.Timestamp = partition, int64(spec)
			rt.Partitions = append(rt.Partitions, rp)
			req.Topics = append(req.Topics, rt)
			resp, err := req.RequestWith(ctx, cl.Broker(0))
			require.NoError(t, err, where)
			gp := resp.Topics[0].Partitions[0]
			require.Equal(t, int16(code), gp.ErrorCode, "list offsets %s: %s", spec, where)
			if code == model.None {
				require.Equal(t, want, gp.Offset, "list offsets %s: %s", spec, where)
			}
		default: // delete records
			hw, _ := m.ListOffsets(topic, partition, model.Latest)
			before := hw - int64(rng.IntN(6)) + 1
			if rng.IntN(5) == 0 {
				before = -1
			}
			want, code := m.DeleteRecords(topic, partition, before)
			req := kmsg.NewPtrDeleteRecordsRequest()
			rt := kmsg.NewDeleteRecordsRequestTopic()
			rt.Topic = topic
			rp := kmsg.NewDeleteRecordsRequestTopicPartition()
			rp.Partition, rp.Offset = partition, before
			rt.Partitions = append(rt.Partitions, rp)
			req.Topics = append(req.Topics, rt)
			req.TimeoutMillis = 5000
			resp, err := req.RequestWith(ctx, cl.Broker(0))
			require.NoError(t, err, where)
			gp := resp.Topics[0].Partitions[0]
			require.Equal(t, int16(code), gp.ErrorCode, "delete records before %d: %s", before, where)
			if code == model.None {
				require.Equal(t, want, gp.LowWatermark, where)
			}
		}
	}
}

type fetched struct {
	Records        []model.Record
	HighWatermark  int64
	LogStartOffset int64
	Err            int16
}

// fetchAll reads one partition from offset to its high watermark with raw
// fetch requests, keeping only records at or past offset (a fetch returns
// whole batches).
func fetchAll(t *testing.T, cl *kgo.Client, topic string, partition int32, offset int64) fetched {
	t.Helper()
	ctx := testContext(t, 30*time.Second)
	var out fetched
	next := offset
	for {
		req := kmsg.NewPtrFetchRequest()
		req.ReplicaID, req.MaxBytes = -1, 10<<20
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes, rp.CurrentLeaderEpoch, rp.LogStartOffset = partition, next, 10<<20, -1, -1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl.Broker(0))
		require.NoError(t, err)
		gp := resp.Topics[0].Partitions[0]
		if gp.ErrorCode != 0 {
			return fetched{Err: gp.ErrorCode}
		}
		out.HighWatermark, out.LogStartOffset = gp.HighWatermark, gp.LogStartOffset
		if len(gp.RecordBatches) == 0 {
			return out
		}
		for raw := gp.RecordBatches; len(raw) > 0; {
			var rb kmsg.RecordBatch
			require.NoError(t, rb.ReadFrom(raw))
			raw = raw[12+rb.Length:]
			recs := rb.Records
			for i := int32(0); i < rb.NumRecords; i++ {
				var r kmsg.Record
				require.NoError(t, r.ReadFrom(recs))
				recs = recs[recordSize(recs):]
				off := rb.FirstOffset + int64(r.OffsetDelta)
				if off >= next {
					out.Records = append(out.Records, model.Record{Offset: off, Key: string(r.Key), Value: string(r.Value)})
				}
			}
			next = rb.FirstOffset + int64(rb.LastOffsetDelta) + 1
		}
		if next >= gp.HighWatermark {
			return out
		}
	}
}

// recordSize is the encoded size of the record at the start of b: its
// varint length prefix plus the length it gives.
func recordSize(b []byte) int {
	var v uint64
	var shift uint
	for i, c := range b {
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			length := int64(v>>1) ^ -int64(v&1) // zigzag
			return i + 1 + int(length)
		}
		shift += 7
	}
	return len(b)
}
