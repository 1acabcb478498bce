package storage

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ordo-broker/ordo/broker/fs"
)

func TestEpochCacheEndOffsetFor(t *testing.T) {
	c := epochCache{entries: []epochEntry{{0, 0}, {2, 3}, {5, 6}}}
	const leo = 8
	tests := []struct {
		epoch     int32
		wantEpoch int32
		wantEnd   int64
	}{
		{-1, -1, -1},
		{0, 0, 3},
		{1, 0, 3}, // unknown epoch between two known ones: the one before it
		{2, 2, 6},
		{3, 2, 6},
		{4, 2, 6},
		{5, 5, leo}, // the latest epoch ends at the log end
		{6, -1, -1}, // above the latest
	}
	for _, tt := range tests {
		e, end := c.endOffsetFor(tt.epoch, leo)
		assert.Equal(t, tt.wantEpoch, e, "epoch %d", tt.epoch)
		assert.Equal(t, tt.wantEnd, end, "epoch %d", tt.epoch)
	}

	// Below the earliest known epoch (its records were deleted): Kafka
	// answers with the requested epoch and the earliest start offset.
	c = epochCache{entries: []epochEntry{{4, 100}, {6, 150}}}
	e, end := c.endOffsetFor(2, 200)
	assert.Equal(t, []int64{2, 100}, []int64{int64(e), end})

	var empty epochCache
	e, end = empty.endOffsetFor(3, 10)
	assert.Equal(t, []int64{-1, -1}, []int64{int64(e), end})
}

func TestEpochCacheMutations(t *testing.T) {
	tests := []struct {
		name string
		op   func(c *epochCache) bool
		want []epochEntry
		diff bool
	}{
		{"assign a new epoch", func(c *epochCache) bool { return c.assign(7, 20) },
			[]epochEntry{{1, 0}, {3, 5}, {5, 10}, {7, 20}}, true},
		{"assign the latest epoch again", func(c *epochCache) bool { return c.assign(5, 12) },
			[]epochEntry{{1, 0}, {3, 5}, {5, 10}}, false},
		{"assign an older epoch drops the conflicting ones", func(c *epochCache) bool { return c.assign(4, 8) },
			[]epochEntry{{1, 0}, {3, 5}, {4, 8}}, true},
		{"assign ignores epoch -1", func(c *epochCache) bool { return c.assign(-1, 30) },
			[]epochEntry{{1, 0}, {3, 5}, {5, 10}}, false},
		{"truncate from end", func(c *epochCache) bool { return c.truncateFromEnd(10) },
			[]epochEntry{{1, 0}, {3, 5}}, true},
		{"truncate from end past everything", func(c *epochCache) bool { return c.truncateFromEnd(11) },
			[]epochEntry{{1, 0}, {3, 5}, {5, 10}}, false},
		{"truncate from start", func(c *epochCache) bool { return c.truncateFromStart(7) },
			[]epochEntry{{3, 7}, {5, 10}}, true},
		{"truncate from start at an epoch start", func(c *epochCache) bool { return c.truncateFromStart(5) },
			[]epochEntry{{3, 5}, {5, 10}}, true},
		{"truncate from start at the first epoch", func(c *epochCache) bool { return c.truncateFromStart(0) },
			[]epochEntry{{1, 0}, {3, 5}, {5, 10}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := epochCache{entries: []epochEntry{{1, 0}, {3, 5}, {5, 10}}}
			assert.Equal(t, tt.diff, tt.op(&c))
			assert.Equal(t, tt.want, c.entries)
		})
	}
}

func TestEpochCheckpointFormat(t *testing.T) {
	c := epochCache{entries: []epochEntry{{0, 0}, {2, 3}, {5, 6}}}
	assert.Equal(t, "0\n3\n0 0\n2 3\n5 6\n", string(c.encode()))
	lines, ok, err := func() ([]string, bool, error) {
		mem := fs.NewMem()
		require.NoError(t, writeFileAtomic(mem, "/", leaderEpochCheckpointFile, c.encode()))
		return readCheckpointLines(mem, "/", leaderEpochCheckpointFile)
	}()
	require.NoError(t, err)
	require.True(t, ok)
	got, err := decodeEpochCheckpoint(lines)
	require.NoError(t, err)
	assert.Equal(t, c.entries, got)

	for _, bad := range [][]string{
		{"1", "0"},
		{"0", "2", "0 0"},
		{"0", "1", "x 0"},
		{"0", "2", "3 0", "2 5"},
		{"0", "1", "1 2 3"},
	} {
		_, err := decodeEpochCheckpoint(bad)
		assert.ErrorIs(t, err, ErrCorruptLog, "%q", bad)
	}
}

func TestLeaderEpochsInTheLog(t *testing.T) {
	mem := fs.NewMem()
	l := openLog(t, mem, Config{}, nil)
	mustAppend(t, l, simpleBatch(t, 3, 0), 0) // 0-2
	mustAppend(t, l, simpleBatch(t, 3, 0), 2) // 3-5
	mustAppend(t, l, simpleBatch(t, 1, 0), 2) // 6
	mustAppend(t, l, simpleBatch(t, 2, 0), 5) // 7-8
	check := func(l *Log) {
		t.Helper()
		assert.Equal(t, int32(5), l.LatestEpoch())
		for _, tt := range []struct {
			epoch, wantEpoch int32
			wantEnd          int64
		}{{0, 0, 3}, {1, 0, 3}, {2, 2, 7}, {4, 2, 7}, {5, 5, 9}, {6, -1, -1}} {
			e, end := l.EndOffsetForEpoch(tt.epoch)
			assert.Equal(t, tt.wantEpoch, e, "epoch %d", tt.epoch)
			assert.Equal(t, tt.wantEnd, end, "epoch %d", tt.epoch)
		}
	}
	check(l)
	b, err := fs.ReadFile(mem, filepath.Join(testDir, leaderEpochCheckpointFile))
	require.NoError(t, err)
	assert.Equal(t, "0\n3\n0 0\n2 3\n5 7\n", string(b), "written when each epoch begins")

	require.NoError(t, l.Sync())
	mem.Crash(fs.CrashOptions{})
	l = openLog(t, mem, Config{}, nil)
	defer l.Close()
	check(l)

	require.NoError(t, l.AssignEpoch(8))
	e, end := l.EndOffsetForEpoch(5)
	assert.Equal(t, []int64{5, 9}, []int64{int64(e), end})
	e, end = l.EndOffsetForEpoch(8)
	assert.Equal(t, []int64{8, 9}, []int64{int64(e), end})
	assert.ErrorIs(t, l.AssignEpoch(7), ErrFencedLeaderEpoch)
}

func TestEpochsRebuiltFromTheLogWhenTheCheckpointIsBehind(t *testing.T) {
	mem := fs.NewMem()
	l := openLog(t, mem, Config{}, nil)
	mustAppend(t, l, simpleBatch(t, 2, 0), 1)
	mustAppend(t, l, simpleBatch(t, 2, 0), 4)
	require.NoError(t, l.Close())
	// An older checkpoint (as if the newest write was lost).
	require.NoError(t, writeFileAtomic(mem, testDir, leaderEpochCheckpointFile, []byte("0\n1\n1 0\n")))
	l = openLog(t, mem, Config{}, nil)
	defer l.Close()
	assert.Equal(t, int32(4), l.LatestEpoch())
	e, end := l.EndOffsetForEpoch(1)
	assert.Equal(t, []int64{1, 2}, []int64{int64(e), end})
}
