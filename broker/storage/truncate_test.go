package storage

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ordo-broker/ordo/broker/fs"
)

// epochLog appends 20 batches of 2 records: epoch 1 for offsets 0-19, epoch
// 3 for 20-39, over segments of about 4 batches.
func epochLog(t *testing.T, mem *fs.Mem) (*Log, Config) {
	cfg := Config{SegmentBytes: 600, IndexIntervalBytes: 100}
	l := openLog(t, mem, cfg, nil)
	for i := range 20 {
		mustAppend(t, l, simpleBatch(t, 2, int64(100+i)), int32(1+2*(i/10)))
	}
	require.NoError(t, l.Sync())
	return l, cfg
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		name       string
		offset     int64
		wantEnd    int64
		wantLatest int32
	}{
		{"inside the last segment", 38, 38, 3},
		{"inside a batch cuts before the batch", 31, 30, 3},
		{"at a segment's base", 24, 24, 3},
		{"into an earlier segment", 13, 12, 1},
		{"at the epoch boundary", 20, 20, 1},
		{"to the start", 0, 0, -1},
		{"at the end changes nothing", 40, 40, 3},
		{"past the end changes nothing", 45, 40, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := fs.NewMem()
			l, cfg := epochLog(t, mem)
			before := readAllLog(t, l)
			require.NoError(t, l.Truncate(tt.offset))
			assert.Equal(t, tt.wantEnd, l.LogEndOffset())
			assert.Equal(t, tt.wantLatest, l.LatestEpoch())
			got := readAllLog(t, l)
			assert.True(t, bytes.Equal(before[:len(got)], got), "a prefix is kept")
			assert.LessOrEqual(t, l.SyncedOffset(), tt.wantEnd)
			if tt.wantLatest >= 0 {
				e, end := l.EndOffsetForEpoch(tt.wantLatest)
				assert.Equal(t, []int64{int64(tt.wantLatest), tt.wantEnd}, []int64{int64(e), end})
			}
			// The follower then appends the leader's records.
			info := mustAppend(t, l, simpleBatch(t, 3, 999), 7)
			assert.Equal(t, tt.wantEnd, info.FirstOffset)
			e, end := l.EndOffsetForEpoch(7)
			assert.Equal(t, []int64{7, tt.wantEnd + 3}, []int64{int64(e), end})
			after := readAllLog(t, l)

			// Truncation is durable: a crash brings nothing cut back.
			require.NoError(t, l.Sync())
			mem.Crash(fs.CrashOptions{})
			l = openLog(t, mem, cfg, nil)
			defer l.Close()
			assert.Equal(t, after, readAllLog(t, l))
			assert.Equal(t, int32(7), l.LatestEpoch())
		})
	}
}

func TestTruncateWithoutSyncStaysTruncatedAfterCrash(t *testing.T) {
	mem := fs.NewMem()
	l, cfg := epochLog(t, mem)
	require.NoError(t, l.Truncate(10))
	mem.Crash(fs.CrashOptions{})
	l = openLog(t, mem, cfg, nil)
	defer l.Close()
	assert.Equal(t, int64(10), l.LogEndOffset())
	assert.Equal(t, int32(1), l.LatestEpoch())
	readAllLog(t, l)
}

func TestTruncateBelowLogStartEmptiesTheLog(t *testing.T) {
	mem := fs.NewMem()
	l, cfg := epochLog(t, mem)
	require.NoError(t, l.SetLogStartOffset(30))
	require.NoError(t, l.Truncate(25))
	assert.Equal(t, int64(25), l.LogStartOffset())
	assert.Equal(t, int64(25), l.LogEndOffset())
	assert.Equal(t, int32(-1), l.LatestEpoch())
	assert.Len(t, segmentFiles(t, mem), 1)

	mem.Crash(fs.CrashOptions{})
	l = openLog(t, mem, cfg, nil)
	defer l.Close()
	assert.Equal(t, int64(25), l.LogStartOffset())
	assert.Equal(t, int64(25), l.LogEndOffset())
	info := mustAppend(t, l, simpleBatch(t, 1, 0), 9)
	assert.Equal(t, int64(25), info.FirstOffset)
}

func TestTruncateFullyAndStartAt(t *testing.T) {
	mem := fs.NewMem()
	l, cfg := epochLog(t, mem)
	require.NoError(t, l.TruncateFullyAndStartAt(100))
	assert.Equal(t, int64(100), l.LogStartOffset())
	assert.Equal(t, int64(100), l.LogEndOffset())
	mem.Crash(fs.CrashOptions{})
	l = openLog(t, mem, cfg, nil)
	defer l.Close()
	assert.Equal(t, int64(100), l.LogStartOffset())
	assert.Equal(t, int64(100), l.LogEndOffset())
	assert.Equal(t, []string{segmentName(100, logExt)}, segmentFiles(t, mem))
}

func TestSetLogStartOffset(t *testing.T) {
	mem := fs.NewMem()
	l, cfg := epochLog(t, mem)
	segs := len(segmentFiles(t, mem))

	assert.ErrorIs(t, l.SetLogStartOffset(41), ErrOffsetOutOfRange)
	require.NoError(t, l.SetLogStartOffset(23))
	require.NoError(t, l.SetLogStartOffset(5), "moving backwards does nothing")
	assert.Equal(t, int64(23), l.LogStartOffset())
	assert.Less(t, len(segmentFiles(t, mem)), segs, "whole segments below it are deleted")

	_, err := l.Read(22, 40, 1<<20, true)
	assert.ErrorIs(t, err, ErrOffsetOutOfRange)
	got, err := l.Read(23, 40, 1, true)
	require.NoError(t, err)
	assert.Equal(t, []span{{22, 23}}, spans(t, got), "the batch holding the start offset")

	// Epochs below the start offset are forgotten, the one holding it moves.
	e, end := l.EndOffsetForEpoch(1)
	assert.Equal(t, []int64{1, 23}, []int64{int64(e), end})
	e, end = l.EndOffsetForEpoch(3)
	assert.Equal(t, []int64{3, 40}, []int64{int64(e), end})

	// Durable without a Sync: survives a crash.
	mem.Crash(fs.CrashOptions{})
	l = openLog(t, mem, cfg, nil)
	defer l.Close()
	assert.Equal(t, int64(23), l.LogStartOffset())
	assert.Equal(t, int64(40), l.LogEndOffset())
	readAllLog(t, l)

	// Up to the log end: everything is deleted but the active segment.
	require.NoError(t, l.SetLogStartOffset(40))
	got, err = l.Read(40, 40, 100, true)
	require.NoError(t, err)
	assert.Empty(t, got)
	assert.Len(t, segmentFiles(t, mem), 1)
}
