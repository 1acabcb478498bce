package handler_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordo-broker/ordo/broker"
	"github.com/ordo-broker/ordo/broker/ordotest"
	"github.com/ordo-broker/ordo/broker/recordbatch"
	"github.com/ordo-broker/ordo/broker/recordbatch/recordbatchtest"
	"github.com/ordo-broker/ordo/broker/wire/wiretest"
)

// These tests produce batches Kafka refuses, over a socket to a broker, and
// check the code each gets, that nothing of them is stored, and that every
// record acknowledged before is read back after.

// records encodes n records at offset deltas 0..n-1 (key "k<i>", value
// "v<i>"), uncompressed.
func records(n int) []byte {
	var b []byte
	for i := range n {
		b = recordbatch.AppendRecord(b, &kmsg.Record{OffsetDelta: int32(i), Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "v%d", i)})
	}
	return b
}

// makeBatch is a producer's batch (no producer id) with the header fields
// h sets, around recs compressed with h's codec.
func makeBatch(t *testing.T, h recordbatch.Header, recs []byte) []byte {
	t.Helper()
	h.ProducerID, h.ProducerEpoch, h.BaseSequence = -1, -1, -1
	if h.FirstTimestamp == 0 {
		h.FirstTimestamp, h.MaxTimestamp = 1000, 1000
	}
	raw, err := recordbatch.Append(nil, h, recs)
	require.NoError(t, err)
	return raw
}

// dense is a valid batch of n records with codec.
func dense(t *testing.T, codec int8, n int) []byte {
	return makeBatch(t, recordbatch.Header{Attributes: int16(codec), LastOffsetDelta: int32(n - 1), NumRecords: int32(n)}, records(n))
}

// readAll fetches and decodes (kgo's consumer code, with decompression)
// every record of a partition up to its high watermark.
func readAll(t *testing.T, cl *kgo.Client, topic string, partition int32) []*kgo.Record {
	t.Helper()
	var out []*kgo.Record
	for offset := int64(0); ; {
		fp := fetch(t, cl, topic, partition, offset, -1, 1<<20, 0)
		require.Zero(t, fp.ErrorCode)
		if offset >= fp.HighWatermark {
			return out
		}
		p, _ := kgo.ProcessFetchPartition(kgo.ProcessFetchPartitionOpts{Topic: topic, Partition: partition}, &fp, kgo.DefaultDecompressor(), nil)
		require.NoError(t, p.Err)
		for _, r := range p.Records {
			if r.Offset >= offset {
				out = append(out, r)
			}
		}
		require.NotEmpty(t, p.Records)
		offset = p.Records[len(p.Records)-1].Offset + 1
	}
}

// acked is what a test had acknowledged: per partition, the values in
// offset order.
type acked []string

func (a *acked) produce(t *testing.T, cl *kgo.Client, topic string, raw []byte, n int) {
	t.Helper()
	resp := produce(t, cl, topic, 0, raw)
	require.Zero(t, resp.ErrorCode, "%v", kerr.ErrorForCode(resp.ErrorCode))
	require.Equal(t, int64(len(*a)), resp.BaseOffset)
	for i := range n {
		*a = append(*a, fmt.Sprintf("v%d", i))
	}
}

// check reads the partition back: exactly the acknowledged records.
func (a acked) check(t *testing.T, cl *kgo.Client, topic string) {
	t.Helper()
	got := readAll(t, cl, topic, 0)
	require.Len(t, got, len(a))
	for i, r := range got {
		require.Equal(t, int64(i), r.Offset)
		require.Equal(t, a[i], string(r.Value), "offset %d", i)
	}
}

// Item 4 of issue 14: a decompression bomb of each codec, to a compacted
// topic (whose keys Kafka checks record by record) and to an ordinary one,
// is refused with RECORD_LIST_TOO_LARGE after at most
// recordbatch.MaxUncompressed bytes of decompression, holding a bounded
// amount of memory (a 1 MB gzip bomb took 5.3 GB before); nothing of it is
// stored, and timestamp look-ups still answer.
func TestProduceRefusesDecompressionBombs(t *testing.T) {
	b := ordotest.Start(t, ordotest.WithConfig(func(c *broker.Config) { c.AutoCreateTopics = false }))
	cl := client(t, b)
	bombs := []struct {
		name  string
		codec int8
		n     int64
	}{
		{"gzip, 1 GiB", 1, 1 << 30},
		{"lz4, 256 MiB", 3, 256 << 20},
		{"zstd, 1 GiB", 4, 1 << 30},
		{"gzip, zeros", 1, -(1 << 30)},
	}
	snappyLie := append(binary.AppendUvarint(nil, 1<<31), 0) // a raw block claiming 2 GiB
	xerialLie := append(append([]byte(nil), recordbatchtest.XerialMagic...), binary.BigEndian.AppendUint32(nil, uint32(len(snappyLie)))...)
	xerialLie = append(xerialLie, snappyLie...)

	for _, policy := range []string{"delete", "compact"} {
		t.Run(policy, func(t *testing.T) {
			topic := "bombs-" + policy
			createTopic(t, cl, topic, 1, map[string]string{"cleanup.policy": policy, "max.message.bytes": "4000000"})
			var ok acked
			ok.produce(t, cl, topic, dense(t, 0, 3), 3)
			ok.produce(t, cl, topic, dense(t, 1, 2), 2)

			for _, bomb := range bombs {
				raw, err := recordbatchtest.Bomb(bomb.codec, bomb.n)
				require.NoError(t, err)
				want := kerr.RecordListTooLarge.Code
				if bomb.n < 0 {
					want = kerr.InvalidRecord.Code // zeros are records of length 0
				}
				var code int16
				n := recordbatchtest.Allocated(func() { code = produce(t, cl, topic, 0, raw).ErrorCode })
				require.Equal(t, want, code, "%s (%d bytes): %v", bomb.name, len(raw), kerr.ErrorForCode(code))
				require.Less(t, n, recordbatchtest.AllocBound(128<<20), "%s: bounded memory", bomb.name)
				ok.produce(t, cl, topic, dense(t, 4, 1), 1)
			}
			for name, lie := range map[string][]byte{"raw snappy": snappyLie, "xerial": xerialLie} {
				code := produce(t, cl, topic, 0, recordbatchtest.Wrap(2, 1, lie)).ErrorCode
				require.Equal(t, kerr.RecordListTooLarge.Code, code, name)
			}
			require.Less(t, recordbatchtest.HeapAfterGC(), uint64(256<<20), "nothing of the bombs is held")

			ok.check(t, cl, topic)
			lo := listOffset(t, cl, topic, 0, 1000, -1)
			require.Zero(t, lo.ErrorCode)
			require.Equal(t, int64(0), lo.Offset)
		})
	}
}

// Item 5 of issue 14: a client's batch is validated record by record on
// every topic, with Kafka's codes (ProduceRequest.validateRecords,
// LogValidator). Each of these was accepted and stored on a delete-policy
// topic before.
func TestProduceValidatesEveryTopic(t *testing.T) {
	b := ordotest.Start(t, ordotest.WithConfig(func(c *broker.Config) { c.AutoCreateTopics = false }))
	cl := client(t, b)
	createTopic(t, cl, "t", 1, nil)
	var ok acked
	ok.produce(t, cl, "t", dense(t, 0, 3), 3)

	header := func(n int32, lastDelta int32, attrs int16) recordbatch.Header {
		return recordbatch.Header{Attributes: attrs, LastOffsetDelta: lastDelta, NumRecords: n}
	}
	deltas := func(ds ...int32) []byte {
		var b []byte
		for _, d := range ds {
			b = recordbatch.AppendRecord(b, &kmsg.Record{OffsetDelta: d, Key: []byte("k"), Value: []byte("v")})
		}
		return b
	}
	withCodec := func(codec int8, raw []byte) []byte {
		raw = append([]byte(nil), raw...)
		raw[22] |= byte(codec)
		recordbatchtest.SetCRC(raw)
		return raw
	}
	garbage := makeBatch(t, header(3, 2, 0), []byte("these are not gzip-compressed records"))
	cases := []struct {
		name  string
		batch []byte
		want  int16
	}{
		{"more records claimed than present", makeBatch(t, header(4, 3, 0), records(3)), kerr.InvalidRecord.Code},
		{"more records claimed than present, lz4", makeBatch(t, header(4, 3, 3), records(3)), kerr.InvalidRecord.Code},
		{"fewer records claimed than present", makeBatch(t, header(2, 1, 0), records(3)), kerr.InvalidRecord.Code},
		{"2^31-1 records claimed", makeBatch(t, header(math.MaxInt32, math.MaxInt32-1, 0), records(3)), kerr.InvalidRecord.Code},
		{"2^31-1 records claimed, gzip", makeBatch(t, header(math.MaxInt32, math.MaxInt32-1, 1), records(3)), kerr.InvalidRecord.Code},
		{"count and offsets disagree", makeBatch(t, header(3, 5, 0), records(3)), kerr.InvalidRecord.Code},
		{"codec 5", withCodec(5, dense(t, 0, 1)), kerr.CorruptMessage.Code},
		{"codec 6", withCodec(6, dense(t, 0, 1)), kerr.CorruptMessage.Code},
		{"codec 7", withCodec(7, dense(t, 0, 1)), kerr.CorruptMessage.Code},
		{"payload that does not decompress", withCodec(1, garbage), kerr.CorruptMessage.Code},
		{"control batch", makeBatch(t, header(1, 0, recordbatch.AttrControl), records(1)), kerr.InvalidRecord.Code},
		{"transactional without a producer id", makeBatch(t, header(1, 0, recordbatch.AttrTransactional), records(1)), kerr.InvalidRecord.Code},
		{"two batches", append(dense(t, 0, 1), dense(t, 0, 1)...), kerr.InvalidRecord.Code},
		{"offset deltas 0, 0, 0", makeBatch(t, header(3, 2, 0), deltas(0, 0, 0)), kerr.InvalidRecord.Code},
		{"offset deltas 0, 0, 0, zstd", makeBatch(t, header(3, 2, 4), deltas(0, 0, 0)), kerr.InvalidRecord.Code},
		{"offset deltas from 5", makeBatch(t, header(3, 2, 0), deltas(5, 6, 7)), kerr.InvalidRecord.Code},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code := produce(t, cl, "t", 0, c.batch).ErrorCode
			require.Equal(t, c.want, code, "got %v", kerr.ErrorForCode(code))
		})
	}
	ok.produce(t, cl, "t", dense(t, 2, 2), 2)

	// zstd needs Produce v7 (KIP-110).
	conn := wiretest.Dial(t, b.Addr())
	zstdAt := func(version int16) int16 {
		req := kmsg.NewPtrProduceRequest()
		req.SetVersion(version)
		req.Acks, req.TimeoutMillis = -1, 10000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = "t"
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Records = dense(t, 4, 1)
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp := conn.RoundTrip(req).(*kmsg.ProduceResponse)
		return resp.Topics[0].Partitions[0].ErrorCode
	}
	require.Equal(t, kerr.UnsupportedCompressionType.Code, zstdAt(3))
	require.Equal(t, kerr.UnsupportedCompressionType.Code, zstdAt(6))
	require.Zero(t, zstdAt(7))
	ok = append(ok, "v0")

	ok.check(t, cl, "t")
}
