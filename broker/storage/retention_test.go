package storage

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ordo-broker/ordo/broker/fs"
)

// segmentSizes lists the segments' (base, maxTimestamp, size), first to
// active.
type segInfo struct {
	base, next, maxTS, size int64
}

func segmentInfos(l *Log) []segInfo {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []segInfo
	for _, s := range l.segments {
		out = append(out, segInfo{s.base, s.next, s.maxTimestamp, s.size})
	}
	return out
}

func noLimit(hw int64) Retention { return Retention{Ms: -1, Bytes: -1, HighWatermark: hw} }

func TestRetentionBytes(t *testing.T) {
	mem := fs.NewMem()
	cfg := Config{SegmentBytes: 500, IndexIntervalBytes: 100}
	l := openLog(t, mem, cfg, nil)
	for i := range 60 {
		mustAppend(t, l, simpleBatch(t, 2, int64(i)), 0)
	}
	require.NoError(t, l.Sync())
	before := segmentInfos(l)
	require.Greater(t, len(before), 10)

	limit := l.Size() / 3
	r := noLimit(l.LogEndOffset())
	r.Bytes = limit
	res, err := l.DeleteRetained(time.UnixMilli(0), r)
	require.NoError(t, err)
	after := segmentInfos(l)
	require.Equal(t, len(before)-len(after), res.Segments)
	require.Positive(t, res.Segments)
	assert.GreaterOrEqual(t, l.Size(), limit, "never below retention.bytes")
	assert.Less(t, l.Size()-after[0].size, limit, "one more segment would go below it: Kafka's rule")
	assert.Equal(t, after[0].base, l.LogStartOffset())
	assert.Equal(t, after[0].base, res.LogStartOffset)
	var deleted int64
	for _, s := range before[:res.Segments] {
		deleted += s.size
	}
	assert.Equal(t, deleted, res.Bytes)

	_, err = l.Read(l.LogStartOffset()-1, l.LogEndOffset(), 1000, true)
	assert.ErrorIs(t, err, ErrOffsetOutOfRange, "below the log start: OFFSET_OUT_OF_RANGE")
	want := readAllLog(t, l)

	// Nothing more to do.
	res, err = l.DeleteRetained(time.UnixMilli(0), r)
	require.NoError(t, err)
	assert.Zero(t, res.Segments)

	// The removals were never made durable by a directory sync; a crash
	// brings the files back, and recovery deletes them again because the
	// log start offset was durable before anything was removed.
	mem.Crash(fs.CrashOptions{})
	l = openLog(t, mem, cfg, nil)
	defer l.Close()
	assert.Equal(t, after[0].base, l.LogStartOffset())
	assert.Len(t, segmentFiles(t, mem), len(after))
	assert.Equal(t, want, readAllLog(t, l))
}

func TestRetentionMs(t *testing.T) {
	mem := fs.NewMem()
	cfg := Config{SegmentBytes: 400, IndexIntervalBytes: 100}
	l := openLog(t, mem, cfg, nil)
	defer l.Close()
	// Segments of records one second apart, and one segment in the middle
	// holding a record from the future.
	for i := range 40 {
		ts := int64(i) * 1000
		if i == 25 {
			ts = 1e12
		}
		mustAppend(t, l, simpleBatch(t, 1, ts), 0)
	}
	require.NoError(t, l.Sync())
	segs := segmentInfos(l)
	now := time.UnixMilli(60_000)
	const retention = 45_000 // records before 15s are past it

	res, err := l.DeleteRetained(now, Retention{Ms: retention, Bytes: -1, HighWatermark: l.LogEndOffset()})
	require.NoError(t, err)
	n := 0
	for n < len(segs)-1 && now.UnixMilli()-segs[n].maxTS > retention {
		n++
	}
	require.Positive(t, n)
	assert.Equal(t, n, res.Segments, "the leading segments past retention.ms")
	assert.Equal(t, segs[n].base, l.LogStartOffset())

	// Everything is past it now except the segment with the future
	// record: deletion stops there, as Kafka's prefix rule does.
	res, err = l.DeleteRetained(time.UnixMilli(1e11), Retention{Ms: retention, Bytes: -1, HighWatermark: l.LogEndOffset()})
	require.NoError(t, err)
	assert.Positive(t, res.Segments)
	first := segmentInfos(l)[0]
	assert.Equal(t, int64(1e12), first.maxTS)
}

func TestRetentionNeverTakesTheActiveSegmentOrUncommittedRecords(t *testing.T) {
	mem := fs.NewMem()
	cfg := Config{SegmentBytes: 400, IndexIntervalBytes: 100}
	l := openLog(t, mem, cfg, nil)
	defer l.Close()
	for i := range 20 {
		mustAppend(t, l, simpleBatch(t, 1, int64(i)), 0)
	}
	require.NoError(t, l.Sync())
	segs := segmentInfos(l)
	far := time.UnixMilli(math.MaxInt64 / 2)

	// The high watermark inside the third segment: only the first two go.
	hw := segs[2].base + 1
	res, err := l.DeleteRetained(far, Retention{Ms: 0, Bytes: 0, HighWatermark: hw})
	require.NoError(t, err)
	assert.Equal(t, 2, res.Segments)
	assert.Equal(t, segs[2].base, l.LogStartOffset())

	// Everything committed and past both limits: all but the active one.
	res, err = l.DeleteRetained(far, Retention{Ms: 0, Bytes: 0, HighWatermark: l.LogEndOffset()})
	require.NoError(t, err)
	assert.Equal(t, len(segs)-3, res.Segments)
	after := segmentInfos(l)
	require.Len(t, after, 1)
	assert.Equal(t, segs[len(segs)-1].base, l.LogStartOffset())
	info := mustAppend(t, l, simpleBatch(t, 1, 0), 0)
	assert.Equal(t, int64(20), info.FirstOffset, "offsets go on")
}

func TestRetentionWorkIsBoundedPerCall(t *testing.T) {
	mem := fs.NewMem()
	cfg := Config{SegmentBytes: 1, IndexIntervalBytes: 100} // a segment per batch
	l := openLog(t, mem, cfg, nil)
	defer l.Close()
	for i := range maxRetentionSegments*2 + 10 {
		mustAppend(t, l, simpleBatch(t, 1, int64(i)), 0)
	}
	require.NoError(t, l.Sync())
	r := Retention{Ms: -1, Bytes: 0, HighWatermark: l.LogEndOffset()}
	var calls []int
	for {
		res, err := l.DeleteRetained(time.Now(), r)
		require.NoError(t, err)
		if res.Segments == 0 {
			break
		}
		calls = append(calls, res.Segments)
	}
	assert.Equal(t, []int{maxRetentionSegments, maxRetentionSegments, 9}, calls)
	assert.Len(t, segmentInfos(l), 1)
}
