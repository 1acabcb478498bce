package partition

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"github.com/ordo-broker/ordo/broker/clock"
	"hash/crc32"
	"io"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/ordo-broker/ordo/broker/storage"
)

// keyedBatchOf builds a batch of one record per key (a nil key: no key),
// each with value, from producer pid (-1: none) at sequence seq.
func keyedBatchOf(pid int64, seq int32, ts int64, value []byte, keys ...[]byte) []byte {
	var recs []byte
	for i, k := range keys {
		r := kmsg.Record{OffsetDelta: int32(i), Key: k, Value: value}
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		recs = r.AppendTo(recs)
	}
	epoch := int16(-1)
	if pid >= 0 {
		epoch = 0
	}
	rb := kmsg.RecordBatch{Magic: 2, LastOffsetDelta: int32(len(keys) - 1), FirstTimestamp: ts, MaxTimestamp: ts,
		ProducerID: pid, ProducerEpoch: epoch, FirstSequence: seq, NumRecords: int32(len(keys)), Records: recs}
	rb.Length = int32(len(rb.AppendTo(nil)) - 12)
	raw := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return raw
}

func recordKey(format string, args ...any) []byte { return []byte(fmt.Sprintf(format, args...)) }

// readAll reads every committed record from the log start: offset → key →
// value (nil: tombstone).
func readAll(t *testing.T, p *Partition) map[int64][2][]byte {
	t.Helper()
	out := map[int64][2][]byte{}
	for off := p.LogStartOffset(); off < p.HighWatermark(); {
		raw, _, err := p.Read(off, 4<<20, true)
		require.NoError(t, err)
		require.NotEmpty(t, raw)
		for len(raw) > 0 {
			var rb kmsg.RecordBatch
			size := 12 + int(binary.BigEndian.Uint32(raw[8:]))
			require.NoError(t, rb.ReadFrom(raw[:size]))
			raw = raw[size:]
			off = rb.FirstOffset + int64(rb.LastOffsetDelta) + 1
			data, err := kgo.DefaultDecompressor().Decompress(rb.Records, kgo.CompressionCodecType(rb.Attributes&7))
			require.NoError(t, err)
			for range rb.NumRecords {
				length, n := binary.Varint(data)
				var r kmsg.Record
				require.NoError(t, r.ReadFrom(data[:n+int(length)]))
				data = data[n+int(length):]
				out[rb.FirstOffset+int64(r.OffsetDelta)] = [2][]byte{r.Key, r.Value}
			}
		}
	}
	return out
}

func TestCleanerRetentionBytes(t *testing.T) {
	mgr := newManager(fs.NewMem())
	defer mgr.Close()
	const segment = 1 << 20
	require.NoError(t, mgr.Apply(nil, image(t, nil, "t", 1, map[string]string{
		"segment.bytes": fmt.Sprint(segment), "retention.bytes": fmt.Sprint(3 * segment),
	})))
	p := mgr.Get("t", 0)
	value := bytes.Repeat([]byte("x"), 100<<10)
	var peak int64
	for i := range 120 { // about 12 MiB
		commit(t, p, keyedBatchOf(-1, -1, time.Now().UnixMilli(), value, recordKey("k%d", i)))
		if i%10 == 9 {
			require.NoError(t, mgr.CleanAll(nil))
		}
		peak = max(peak, p.log.Size())
	}
	require.NoError(t, mgr.CleanAll(nil))
	t.Logf("retention.bytes %d: log size %d after, peak %d", 3*segment, p.log.Size(), peak)
	require.LessOrEqual(t, p.log.Size(), int64(3*segment+segment), "at most retention.bytes plus the active segment")
	require.Less(t, peak, int64(5*segment), "bounded between rounds too (a round every 1 MiB)")
	require.Positive(t, p.LogStartOffset())
	_, _, err := p.Read(p.LogStartOffset()-1, 1<<20, true)
	require.ErrorIs(t, err, storage.ErrOffsetOutOfRange)
}

func TestCleanerRetentionMs(t *testing.T) {
	now := time.UnixMilli(10_000_000)
	clk := clock.NewFake(now)
	mgr := NewManager(Config{FS: fs.NewMem(), Dir: "/data", Clock: clk, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer mgr.Close()
	require.NoError(t, mgr.Apply(nil, image(t, nil, "t", 1, map[string]string{
		"segment.bytes": fmt.Sprint(1 << 20), "retention.ms": "60000",
	})))
	p := mgr.Get("t", 0)
	value := bytes.Repeat([]byte("x"), 200<<10)
	for i := range 30 { // records a second apart
		commit(t, p, keyedBatchOf(-1, -1, now.UnixMilli()-int64(30-i)*1000, value, recordKey("k%d", i)))
	}
	require.NoError(t, mgr.CleanAll(nil))
	require.Zero(t, p.LogStartOffset(), "nothing is older than a minute yet")
	clk.Advance(50 * time.Second)
	require.NoError(t, mgr.CleanAll(nil))
	start := p.LogStartOffset()
	require.Positive(t, start)
	require.Less(t, start, int64(30))
	for off := range readAll(t, p) {
		require.GreaterOrEqual(t, off, start)
	}
}

func TestCleanerCompactsAndRefusesKeylessRecords(t *testing.T) {
	mgr := newManager(fs.NewMem())
	defer mgr.Close()
	require.NoError(t, mgr.Apply(nil, image(t, nil, "c", 1, map[string]string{
		"cleanup.policy": "compact", "segment.bytes": fmt.Sprint(1 << 20), "min.cleanable.dirty.ratio": "0.01",
		"delete.retention.ms": "0",
	})))
	p := mgr.Get("c", 0)

	_, err := p.Append(keyedBatchOf(-1, -1, 1, []byte("v"), recordKey("a"), nil), time.Now())
	require.ErrorIs(t, err, storage.ErrNoKey, "Kafka: compacted topic cannot accept message without key")

	value := bytes.Repeat([]byte("x"), 50<<10)
	written := map[int64]string{} // offset → key
	old := time.Now().UnixMilli() - time.Hour.Milliseconds()
	a := commit(t, p, keyedBatchOf(-1, -1, old, []byte("soon deleted"), recordKey("dead")))
	written[a.FirstOffset] = "dead"
	a = commit(t, p, keyedBatchOf(-1, -1, old, nil, recordKey("dead"))) // its tombstone
	written[a.FirstOffset] = "dead"
	for i := range 100 { // 5 MiB over 10 keys
		k := recordKey("k%d", i%10)
		v := append(fmt.Appendf(nil, "%d-", i), value...)
		a := commit(t, p, keyedBatchOf(-1, -1, time.Now().UnixMilli()-time.Hour.Milliseconds(), v, k))
		written[a.FirstOffset] = string(k)
	}
	before := p.log.Size()
	require.NoError(t, mgr.CleanAll(nil))
	after := p.log.Size()
	t.Logf("compaction: %d bytes before, %d after", before, after)
	require.Less(t, after, before/2)

	got := readAll(t, p)
	upTo := cleanedUpTo(t, p)
	require.Positive(t, upTo)
	// Below where the pass stopped: exactly the latest record of each key
	// there, no tombstone (delete.retention.ms is 0). From there on:
	// everything.
	below := map[string]int64{}
	for off, v := range written {
		if off < upTo {
			below[v] = max(below[v], off)
		}
	}
	for off, kv := range got {
		if off < upTo {
			require.Equal(t, below[string(kv[0])], off, "only the latest value of %s stays below %d", kv[0], upTo)
			require.NotNil(t, kv[1], "no tombstone stays")
		}
	}
	for k, off := range below {
		_, ok := got[off]
		require.Equal(t, k != "dead", ok, "the latest record of %s (at %d) stays unless it is an old tombstone", k, off)
	}
	for off := range written {
		if off >= upTo {
			require.Contains(t, got, off)
		}
	}
}

// cleanedUpTo is where the last compaction pass stopped (the cleaner
// checkpoint), as a pass that is told not to run reports it.
func cleanedUpTo(t *testing.T, p *Partition) int64 {
	t.Helper()
	st, err := p.log.Clean(storage.CleanOptions{HighWatermark: math.MaxInt64, MinCleanableDirtyRatio: 1})
	require.NoError(t, err)
	require.False(t, st.Ran)
	return st.FirstDirty
}

// An idempotent producer whose records were all compacted away keeps its
// sequence: after a restart (producer state rebuilt from the log) its next
// batch is accepted, not refused as out of order.
func TestCompactionKeepsProducerState(t *testing.T) {
	mem := fs.NewMem()
	mgr := newManager(mem)
	im := image(t, nil, "c", 1, map[string]string{
		"cleanup.policy": "compact", "segment.bytes": fmt.Sprint(1 << 20), "min.cleanable.dirty.ratio": "0.01",
	})
	require.NoError(t, mgr.Apply(nil, im))
	p := mgr.Get("c", 0)
	now := time.Now().UnixMilli()
	commit(t, p, keyedBatchOf(9, 0, now, []byte("a"), recordKey("a"), recordKey("b")))
	commit(t, p, keyedBatchOf(9, 2, now, []byte("b"), recordKey("a"), recordKey("b")))
	value := bytes.Repeat([]byte("x"), 100<<10)
	for i := range 25 { // supersede both, fill more than a segment
		commit(t, p, keyedBatchOf(-1, -1, now, value, recordKey("a"), recordKey("b"), recordKey("c%d", i)))
	}
	require.NoError(t, mgr.CleanAll(nil))
	got := readAll(t, p)
	for off := range int64(4) {
		_, ok := got[off]
		require.False(t, ok, "offset %d was compacted away", off)
	}
	require.NoError(t, mgr.Close())

	mgr = newManager(mem)
	defer mgr.Close()
	require.NoError(t, mgr.Apply(nil, im))
	p = mgr.Get("c", 0)
	a := commit(t, p, keyedBatchOf(9, 4, now, []byte("c"), recordKey("a")))
	require.False(t, a.Duplicate)
	// The kept empty batch still holds sequences 2-3 in the producer's
	// window: a late retry of it is a duplicate, not appended again.
	retry, err := p.Append(keyedBatchOf(9, 2, now, []byte("b"), recordKey("a"), recordKey("b")), time.Now())
	require.NoError(t, err)
	require.True(t, retry.Duplicate)
	require.Equal(t, int64(2), retry.FirstOffset)
}
