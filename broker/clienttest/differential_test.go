package clienttest

import (
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"slices"
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
	idem := &idempotence{next: map[idemKey]int32{}, last: map[idemKey][2]int32{}, outcomes: map[string]int{}}
	defer func() {
		t.Logf("%d records produced by kgo, %d read back and compared; idempotent produces: %v", produced, readRecords, idem.outcomes)
	}()
	for step := 0; step < 1000; step++ {
		topic := topics[rng.IntN(len(topics))]
		partition := int32(rng.IntN(3))
		where := fmt.Sprintf("step %d (seed %d)", step, seed)
		switch op := rng.IntN(13); {
		case op >= 10: // idempotent producers: init, or a raw produce with a chosen sequence
			idem.step(t, rng, m, cl, topic, partition, where)
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

// idempotence drives raw idempotent produces, so the test chooses the
// sequences: the next one, a retry of the last batch, a gap, an old epoch.
type idempotence struct {
	producers []model.ProducerIdentity
	next      map[idemKey]int32    // next sequence per producer and partition
	last      map[idemKey][2]int32 // the last appended batch: first sequence, count
	outcomes  map[string]int       // what the idempotent produces met, for the log
}

type idemKey struct {
	id        int64
	topic     string
	partition int32
}

func (d *idempotence) step(t *testing.T, rng *rand.Rand, m *model.Cluster, cl *kgo.Client, topic string, partition int32, where string) {
	ctx := testContext(t, 30*time.Second)
	if len(d.producers) == 0 || rng.IntN(6) == 0 {
		// InitProducerId: new, a bump of a known producer, or a stale epoch.
		id, epoch := int64(-1), int16(-1)
		if len(d.producers) > 0 && rng.IntN(2) == 0 {
			p := d.producers[rng.IntN(len(d.producers))]
			id, epoch = p.ID, max(0, p.Epoch-int16(rng.IntN(3))) // current, previous or older
		}
		want, code := m.InitProducerID(id, epoch)
		req := kmsg.NewPtrInitProducerIDRequest()
		req.ProducerID, req.ProducerEpoch, req.TransactionTimeoutMillis = id, epoch, 60000
		resp, err := req.RequestWith(ctx, cl.Broker(0))
		require.NoError(t, err, where)
		require.Equal(t, int16(code), resp.ErrorCode, "init-producer %d/%d: %s", id, epoch, where)
		if code == model.None {
			require.Equal(t, want, model.ProducerIdentity{ID: resp.ProducerID, Epoch: resp.ProducerEpoch}, "init-producer %d/%d: %s", id, epoch, where)
			d.producers = slices.DeleteFunc(d.producers, func(p model.ProducerIdentity) bool { return p.ID == want.ID })
			// A new epoch starts every partition's sequence at 0 again.
			for k := range d.next {
				if k.id == want.ID {
					delete(d.next, k)
					delete(d.last, k)
				}
			}
			d.producers = append(d.producers, want)
		}
		return
	}
	if m.Partitions(topic) <= partition {
		return
	}
	p := d.producers[rng.IntN(len(d.producers))]
	epoch := p.Epoch
	k := idemKey{p.ID, topic, partition}
	n := 1 + rng.IntN(3)
	seq := d.next[k]
	switch rng.IntN(8) {
	case 0: // a retry of the last batch
		if last, ok := d.last[k]; ok {
			seq, n = last[0], int(last[1])
		}
	case 1: // a gap
		seq += int32(1 + rng.IntN(3))
	case 2: // an older epoch
		epoch = max(0, epoch-1)
	}
	var recs []model.Record
	for i := 0; i < n; i++ {
		recs = append(recs, model.Record{Key: fmt.Sprintf("k%d", rng.IntN(4)), Value: fmt.Sprintf("i%d-%d-%d", p.ID, seq, i)})
	}
	want := m.Produce(model.ProduceRequest{Topic: topic, Partition: partition, Records: recs, ProducerID: p.ID, ProducerEpoch: epoch, BaseSequence: seq})
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = -1, 10000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = partition, idempotentBatch(p.ID, epoch, seq, recs)
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl.Broker(0))
	require.NoError(t, err, where)
	got := resp.Topics[0].Partitions[0]
	switch {
	case want.Err != model.None:
		d.outcomes[want.Err.String()]++
	case seq == d.next[k] && epoch == p.Epoch:
		d.outcomes["appended"]++
	default:
		d.outcomes["duplicate"]++
	}
	require.Equal(t, int16(want.Err), got.ErrorCode, "idempotent produce pid=%d epoch=%d seq=%d n=%d: %s", p.ID, epoch, seq, n, where)
	if want.Err == model.None {
		require.Equal(t, want.BaseOffset, got.BaseOffset, "idempotent produce pid=%d epoch=%d seq=%d: %s", p.ID, epoch, seq, where)
		if seq == d.next[k] && epoch == p.Epoch {
			d.last[k] = [2]int32{seq, int32(n)}
			d.next[k] = seq + int32(n)
		}
	}
}

// idempotentBatch encodes recs as one uncompressed v2 batch of an
// idempotent producer, with a correct CRC.
func idempotentBatch(id int64, epoch int16, seq int32, recs []model.Record) []byte {
	var body []byte
	for i, r := range recs {
		rec := kmsg.Record{OffsetDelta: int32(i), Key: []byte(r.Key), Value: []byte(r.Value)}
		rec.Length = int32(len(rec.AppendTo(nil)) - 1)
		body = rec.AppendTo(body)
	}
	now := time.Now().UnixMilli()
	rb := kmsg.RecordBatch{Magic: 2, LastOffsetDelta: int32(len(recs) - 1), FirstTimestamp: now, MaxTimestamp: now,
		ProducerID: id, ProducerEpoch: epoch, FirstSequence: seq, NumRecords: int32(len(recs)), Records: body}
	rb.Length = int32(len(rb.AppendTo(nil)) - 12)
	raw := rb.AppendTo(nil)
	rb.CRC = int32(crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return rb.AppendTo(nil)
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
