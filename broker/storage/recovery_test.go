package storage

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/ordo-broker/ordo/broker/recordbatch"
)

func openClean(t testing.TB, fsys fs.FS, cfg Config, clean bool) *Log {
	t.Helper()
	l, err := OpenWith(fsys, testDir, cfg, Options{Now: newClock().now, CleanShutdown: clean})
	require.NoError(t, err)
	return l
}

// TestRecoveryAfterCrashCutsTornTail crashes with a torn unsynced batch at
// the end of the active segment and checks what recovery reports: it
// rescanned the active segment (only it: the closed ones lie below the
// recovery point), cut the torn bytes and nothing else.
func TestRecoveryAfterCrashCutsTornTail(t *testing.T) {
	cfg := Config{SegmentBytes: 600, IndexIntervalBytes: 100}
	for seed := uint64(1); ; seed++ {
		require.Less(t, seed, uint64(50), "no seed tore the last write")
		mem := fs.NewMem()
		l := openLog(t, mem, cfg, nil)
		for i := range 18 { // the last segment holds 3 batches of 5
			mustAppend(t, l, simpleBatch(t, 2, int64(i)), 0)
		}
		require.NoError(t, l.Sync())
		synced := readAllLog(t, l)
		active := filepath.Join(testDir, segmentName(l.active().base, logExt))
		activeSynced := l.active().size
		segs := len(l.segments)
		torn := mustAppend(t, l, simpleBatch(t, 3, 100), 0).Batches[0]
		require.Equal(t, filepath.Join(testDir, segmentName(l.active().base, logExt)), active, "the last write did not roll")

		mem.Crash(fs.CrashOptions{TearLastWrite: true, Rand: rand.New(rand.NewPCG(seed, 1))})
		info, err := mem.Stat(active)
		require.NoError(t, err)
		kept := info.Size() - activeSynced
		if kept < recordbatch.HeaderSize || kept >= int64(torn.Size) {
			continue // want the header and part of the records: try another seed
		}
		t.Logf("seed %d kept %d of the last batch's %d bytes", seed, kept, torn.Size)

		l = openLog(t, mem, cfg, nil)
		defer l.Close()
		r := l.Recovery()
		assert.False(t, r.CleanShutdown)
		assert.True(t, r.Recovered())
		assert.Equal(t, 1, r.SegmentsRescanned, "only the active segment lies past the recovery point")
		assert.Equal(t, info.Size(), r.BytesRescanned)
		assert.Equal(t, kept, r.TruncatedBytes)
		assert.Equal(t, int64(3), r.TruncatedRecords, "the torn batch's header survived")
		assert.Equal(t, 0, r.SegmentsDeleted)
		assert.Equal(t, segs, r.Segments)
		assert.Equal(t, int64(36), r.LogEndOffset)
		assert.Greater(t, r.BytesChecked, int64(0), "the closed segments' tails were checked")
		assert.Equal(t, synced, readAllLog(t, l))
		return
	}
}

func TestCleanRestartRescansNothing(t *testing.T) {
	cfg := Config{SegmentBytes: 2000, IndexIntervalBytes: 200}
	mem := fs.NewMem()
	clock := newClock()
	l := openLog(t, mem, cfg, clock)
	for i := range 60 {
		mustAppend(t, l, simpleBatch(t, 2, 1_700_000_000_000+int64(i)), int32(i/20))
	}
	want := readAllLog(t, l)
	segs := len(l.segments)
	activeSize := l.active().size
	require.Greater(t, segs, 3)
	require.Greater(t, activeSize, int64(4*200), "the active segment has index entries")
	wantTS, wantTSOffset, err := l.MaxTimestamp()
	require.NoError(t, err)
	require.NoError(t, l.Close())
	// Power goes right after the clean shutdown: Close made everything
	// durable, the active segment's indexes included.
	mem.Crash(fs.CrashOptions{TearLastWrite: true})

	l = openClean(t, mem, cfg, true)
	r := l.Recovery()
	assert.True(t, r.CleanShutdown)
	assert.False(t, r.Recovered())
	assert.Equal(t, 0, r.SegmentsRescanned, "nothing past the recovery point was rescanned")
	assert.Equal(t, int64(0), r.BytesRescanned)
	assert.Less(t, r.BytesChecked, int64(segs)*(200+200), "only the batches after each segment's last index entry were read")
	assert.Equal(t, segs, r.Segments)
	assert.Equal(t, int64(120), r.LogEndOffset)
	assert.Equal(t, want, readAllLog(t, l))
	ts, off, err := l.MaxTimestamp()
	require.NoError(t, err)
	assert.Equal(t, wantTS, ts)
	assert.Equal(t, wantTSOffset, off)
	assert.Equal(t, int32(2), l.LatestEpoch())
	assert.Equal(t, l.LogEndOffset(), l.SyncedOffset())
	info := mustAppend(t, l, simpleBatch(t, 1, 1_700_000_000_100), 2)
	assert.Equal(t, int64(120), info.FirstOffset)
	require.NoError(t, l.Close())

	// The same log opened as after a crash rescans the active segment.
	l = openClean(t, mem, cfg, false)
	defer l.Close()
	r = l.Recovery()
	assert.False(t, r.CleanShutdown)
	assert.Equal(t, 1, r.SegmentsRescanned)
	assert.Greater(t, r.BytesRescanned, activeSize)
	assert.Equal(t, int64(0), r.TruncatedBytes)
}

// TestCleanShutdownFlagDoesNotHideDamage: a log said to be closed cleanly
// whose active segment fails its checks is rescanned and cut, as after a
// crash.
func TestCleanShutdownFlagDoesNotHideDamage(t *testing.T) {
	for _, damage := range []string{"torn tail", "bad index"} {
		t.Run(damage, func(t *testing.T) {
			cfg := Config{IndexIntervalBytes: 100}
			mem := fs.NewMem()
			l := openLog(t, mem, cfg, nil)
			for i := range 10 {
				mustAppend(t, l, simpleBatch(t, 2, int64(i)), 0)
			}
			want := readAllLog(t, l)
			require.NoError(t, l.Close())
			switch damage {
			case "torn tail":
				f, err := mem.OpenFile(filepath.Join(testDir, segmentName(0, logExt)), os.O_RDWR, 0)
				require.NoError(t, err)
				_, err = f.WriteAt(bytes.Repeat([]byte{0xee}, 30), int64(len(want)))
				require.NoError(t, err)
				require.NoError(t, f.Sync())
				require.NoError(t, f.Close())
			case "bad index":
				flipByte(t, mem, filepath.Join(testDir, segmentName(0, indexExt)), -2)
			}

			l = openClean(t, mem, cfg, true)
			defer l.Close()
			r := l.Recovery()
			assert.False(t, r.CleanShutdown, "the checks failed, so the segment was rescanned")
			assert.Equal(t, 1, r.SegmentsRescanned)
			if damage == "torn tail" {
				assert.Equal(t, int64(30), r.TruncatedBytes)
			}
			assert.Equal(t, want, readAllLog(t, l))
		})
	}
}

// TestRecoveryCountsSegmentsDeletedAfterACut: segments whose names became
// durable before the bytes of the segment before them are deleted, and
// their bytes count as truncated.
func TestRecoveryCountsSegmentsDeletedAfterACut(t *testing.T) {
	cfg := Config{SegmentBytes: 600}
	mem := fs.NewMem()
	want := multiSegmentLog(t, mem, cfg)
	segs := len(segmentFiles(t, mem))
	require.NoError(t, mem.Remove(filepath.Join(testDir, recoveryPointFile)))
	flipByte(t, mem, filepath.Join(testDir, segmentName(0, logExt)), -5)

	l := openLog(t, mem, cfg, nil)
	defer l.Close()
	r := l.Recovery()
	got := readAllLog(t, l)
	assert.Equal(t, segs-1, r.SegmentsDeleted)
	assert.Equal(t, int64(len(want)-len(got)), r.TruncatedBytes)
	assert.Equal(t, int64(30*2)-l.LogEndOffset(), r.TruncatedRecords, "every cut batch's header was readable")
}

// countingFile counts the writes and truncations made through it.
type countingFile struct {
	fs.File
	changes int
}

func (f *countingFile) WriteAt(p []byte, off int64) (int, error) {
	f.changes++
	return f.File.WriteAt(p, off)
}

func (f *countingFile) Truncate(n int64) error {
	f.changes++
	return f.File.Truncate(n)
}

// TestRewriteIndexWritesOnlyWhatDiffers: a rebuilt index rewrites a file
// only from its first differing byte, and not at all when it holds the
// right bytes already (a file left untouched needs no real fsync).
func TestRewriteIndexWritesOnlyWhatDiffers(t *testing.T) {
	for _, tt := range []struct {
		have, want string
		changes    int
	}{
		{"", "", 0},
		{"abcdefgh", "abcdefgh", 0},
		{"abcdefgh", "abcdXYZW", 2}, // truncate, and write the rest
		{"abcdefgh", "abcd", 1},     // truncate only
		{"abcd", "abcdefgh", 1},     // append only
		{"abcdefgh", "", 1},
	} {
		mem := fs.NewMem()
		f, err := mem.OpenFile("/i", os.O_RDWR|os.O_CREATE, 0o644)
		require.NoError(t, err)
		_, err = f.WriteAt([]byte(tt.have), 0)
		require.NoError(t, err)
		cf := &countingFile{File: f}
		changed, err := rewriteIndex(cf, []byte(tt.want))
		require.NoError(t, err)
		assert.Equal(t, tt.changes > 0, changed)
		got, err := fs.ReadFile(mem, "/i")
		require.NoError(t, err)
		assert.Equal(t, tt.want, string(got), "%q → %q", tt.have, tt.want)
		assert.Equal(t, tt.changes, cf.changes, "%q → %q", tt.have, tt.want)
	}
}
