package storage

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ordo-broker/ordo/broker/fs"
)

func TestCrashAfterSyncKeepsEverything(t *testing.T) {
	for _, cfg := range []Config{{}, {SegmentBytes: 400, IndexIntervalBytes: 100}} {
		mem := fs.NewMem()
		l := openLog(t, mem, cfg, nil)
		for i := range 25 {
			mustAppend(t, l, makeBatch(t, int8(2*(i%2)), int64(i), int64(i+1)), int32(i/10))
		}
		require.NoError(t, l.Sync())
		assert.Equal(t, l.LogEndOffset(), l.SyncedOffset())
		want := readAllLog(t, l)

		mem.Crash(fs.CrashOptions{TearLastWrite: true})
		_, err := l.Read(0, 10, 100, true)
		assert.Error(t, err, "the old handles are fenced")

		l = openLog(t, mem, cfg, nil)
		assert.Equal(t, int64(50), l.LogEndOffset())
		assert.Equal(t, want, readAllLog(t, l), "same bytes, same offsets")
		assert.Equal(t, int32(2), l.LatestEpoch())
		require.NoError(t, l.Close())
	}
}

func TestCrashWithoutSyncLosesOnlyUnsynced(t *testing.T) {
	mem := fs.NewMem()
	cfg := Config{SegmentBytes: 400, IndexIntervalBytes: 100}
	l := openLog(t, mem, cfg, nil)
	for i := range 10 {
		mustAppend(t, l, simpleBatch(t, 2, int64(i)), 1)
	}
	require.NoError(t, l.Sync())
	want := readAllLog(t, l)
	segs := len(segmentFiles(t, mem))
	for i := range 10 { // rolls into new, never-synced segments
		mustAppend(t, l, simpleBatch(t, 2, int64(i)), 2)
	}
	require.Greater(t, len(segmentFiles(t, mem)), segs)
	assert.Equal(t, int64(20), l.SyncedOffset())

	mem.Crash(fs.CrashOptions{})
	l = openLog(t, mem, cfg, nil)
	defer l.Close()
	assert.Equal(t, int64(20), l.LogEndOffset())
	assert.Equal(t, want, readAllLog(t, l))
	assert.Equal(t, int32(1), l.LatestEpoch(), "epoch 2's records were lost, so is epoch 2")
	info := mustAppend(t, l, simpleBatch(t, 1, 0), 3)
	assert.Equal(t, int64(20), info.FirstOffset)
}

// TestCrashTornTail crashes at random points with torn writes and checks
// that recovery keeps every synced batch with its offsets, keeps only whole
// valid batches, and leaves a log that takes appends and survives the next
// crash.
func TestCrashTornTail(t *testing.T) {
	seed := uint64(20240601)
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	cfgs := []Config{{SegmentBytes: 700, IndexIntervalBytes: 90}, {}}
	torn := 0
	for round := range 40 {
		cfg := cfgs[round%len(cfgs)]
		mem := fs.NewMem()
		l := openLog(t, mem, cfg, nil)
		var model []byte // everything ever appended and kept, in order
		var synced int
		for range 3 {
			for range r.IntN(12) {
				mustAppend(t, l, makeBatch(t, int8(2*r.IntN(2)), int64(r.IntN(1000))), 0) // none or snappy: cheap under -race
			}
			if r.IntN(2) == 0 {
				require.NoError(t, l.Sync())
			}
			model = readAllLog(t, l)
			synced = countBytesBelow(t, model, l.SyncedOffset())

			mem.Crash(fs.CrashOptions{TearLastWrite: true, Rand: r})
			l = openLog(t, mem, cfg, nil)
			got := readAllLog(t, l)
			require.GreaterOrEqual(t, len(got), synced, "round %d: synced bytes survive", round)
			require.True(t, bytes.Equal(model[:len(got)], got), "round %d: recovery keeps a prefix", round)
			require.Equal(t, l.LogEndOffset(), l.SyncedOffset())
			if len(got) > synced && len(got) < len(model) {
				torn++
			}
		}
		require.NoError(t, l.Close())
	}
	assert.Greater(t, torn, 5, "some crashes kept part of the unsynced tail")
}

// countBytesBelow returns how many leading bytes of a Read result hold the
// batches below offset.
func countBytesBelow(t *testing.T, b []byte, offset int64) int {
	if len(b) == 0 {
		return 0
	}
	batches, err := ParseBatches(b)
	require.NoError(t, err)
	n := 0
	for _, h := range batches {
		if h.LastOffset() >= offset {
			break
		}
		n += h.Size
	}
	return n
}

func TestCorruptTailIsTruncated(t *testing.T) {
	tests := []struct {
		name    string
		corrupt func(t *testing.T, mem *fs.Mem, name string, sizes []int)
		wantEnd int64
	}{
		{"flipped byte in the last batch", func(t *testing.T, mem *fs.Mem, name string, sizes []int) {
			flipByte(t, mem, name, -5)
		}, 6},
		{"flipped byte in a middle batch's records", func(t *testing.T, mem *fs.Mem, name string, sizes []int) {
			flipByte(t, mem, name, int64(sizes[0]+sizes[1]-3))
		}, 3},
		{"flipped length field", func(t *testing.T, mem *fs.Mem, name string, sizes []int) {
			flipByte(t, mem, name, int64(sizes[0]+8)) // the second batch's length field
		}, 3},
		{"garbage appended", func(t *testing.T, mem *fs.Mem, name string, sizes []int) {
			f, err := mem.OpenFile(name, os.O_RDWR, 0)
			require.NoError(t, err)
			_, err = f.WriteAt(bytes.Repeat([]byte{0xee}, 100), int64(sizes[0]+sizes[1]+sizes[2]))
			require.NoError(t, err)
			require.NoError(t, f.Sync())
			require.NoError(t, f.Close())
		}, 9},
		{"zeros appended (preallocated space)", func(t *testing.T, mem *fs.Mem, name string, sizes []int) {
			f, err := mem.OpenFile(name, os.O_RDWR, 0)
			require.NoError(t, err)
			require.NoError(t, f.Truncate(int64(sizes[0]+sizes[1]+sizes[2]+4096)))
			require.NoError(t, f.Sync())
			require.NoError(t, f.Close())
		}, 9},
		{"last batch cut short", func(t *testing.T, mem *fs.Mem, name string, sizes []int) {
			f, err := mem.OpenFile(name, os.O_RDWR, 0)
			require.NoError(t, err)
			require.NoError(t, f.Truncate(int64(sizes[0]+sizes[1]+sizes[2]-1)))
			require.NoError(t, f.Sync())
			require.NoError(t, f.Close())
		}, 6},
	}
	for _, tt := range tests {
		// A log said to have been closed cleanly gets the same treatment:
		// its active segment fails the checks and is rescanned.
		for _, clean := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/clean=%v", tt.name, clean), func(t *testing.T) {
				mem := fs.NewMem()
				l := openLog(t, mem, Config{}, nil)
				var sizes []int
				for range 3 {
					info := mustAppend(t, l, makeBatch(t, 0, 1, 2, 3), 0)
					sizes = append(sizes, info.Batches[0].Size)
				}
				require.NoError(t, l.Close())
				tt.corrupt(t, mem, filepath.Join(testDir, segmentName(0, logExt)), sizes)

				l = openClean(t, mem, Config{}, clean)
				defer l.Close()
				assert.False(t, l.Recovery().CleanShutdown)
				assert.Equal(t, tt.wantEnd, l.LogEndOffset())
				readAllLog(t, l) // only valid batches are served
				info := mustAppend(t, l, makeBatch(t, 0, 1), 0)
				assert.Equal(t, tt.wantEnd, info.FirstOffset)
			})
		}
	}
}

// multiSegmentLog writes a closed log of several segments, all durable.
func multiSegmentLog(t *testing.T, mem *fs.Mem, cfg Config) []byte {
	l := openLog(t, mem, cfg, nil)
	for i := range 30 {
		mustAppend(t, l, simpleBatch(t, 2, int64(i)), 0)
	}
	want := readAllLog(t, l)
	require.NoError(t, l.Close())
	require.Greater(t, len(segmentFiles(t, mem)), 3)
	return want
}

func TestCorruptionInADurableSegmentIsAnError(t *testing.T) {
	cfg := Config{SegmentBytes: 600}
	mem := fs.NewMem()
	multiSegmentLog(t, mem, cfg)
	flipByte(t, mem, filepath.Join(testDir, segmentName(0, logExt)), -5)
	_, err := Open(mem, testDir, cfg, nil)
	assert.ErrorIs(t, err, ErrCorruptLog)
}

func TestTornSegmentAboveTheRecoveryPointIsCut(t *testing.T) {
	// Segments rolled since the recovery point last moved may all hold torn
	// writes (a real disk writes pages back in any order, and the name of a
	// later segment may reach the disk before an earlier segment's bytes).
	// Recovery cuts at the first bad batch and drops the later segments
	// rather than refusing to open. Here the recovery point file is gone, as
	// if it never moved, and the first segment is torn.
	cfg := Config{SegmentBytes: 600}
	mem := fs.NewMem()
	want := multiSegmentLog(t, mem, cfg)
	require.NoError(t, mem.Remove(filepath.Join(testDir, recoveryPointFile)))
	first, err := mem.Stat(filepath.Join(testDir, segmentName(0, logExt)))
	require.NoError(t, err)
	flipByte(t, mem, filepath.Join(testDir, segmentName(0, logExt)), -5)

	l := openLog(t, mem, cfg, nil)
	defer l.Close()
	got := readAllLog(t, l)
	assert.Equal(t, want[:len(got)], got)
	assert.Less(t, int64(len(got)), first.Size())
	assert.Len(t, segmentFiles(t, mem), 1)
	assert.Equal(t, l.LogEndOffset(), l.SyncedOffset())
}

func TestMissingOrBadIndexesAreRebuilt(t *testing.T) {
	cfg := Config{SegmentBytes: 600, IndexIntervalBytes: 60}
	tests := []struct {
		name    string
		corrupt func(t *testing.T, mem *fs.Mem)
	}{
		{"missing offset index", func(t *testing.T, mem *fs.Mem) {
			require.NoError(t, mem.Remove(filepath.Join(testDir, segmentName(0, indexExt))))
		}},
		{"missing time index", func(t *testing.T, mem *fs.Mem) {
			require.NoError(t, mem.Remove(filepath.Join(testDir, segmentName(0, timeIndexExt))))
		}},
		{"offset index with a partial entry", func(t *testing.T, mem *fs.Mem) {
			f, err := mem.OpenFile(filepath.Join(testDir, segmentName(0, indexExt)), os.O_RDWR, 0)
			require.NoError(t, err)
			_, err = f.WriteAt([]byte{1, 2, 3}, 8)
			require.NoError(t, err)
			require.NoError(t, f.Close())
		}},
		{"offset index pointing past the log", func(t *testing.T, mem *fs.Mem) {
			f, err := mem.OpenFile(filepath.Join(testDir, segmentName(0, indexExt)), os.O_RDWR, 0)
			require.NoError(t, err)
			info, _ := f.Stat()
			_, err = f.WriteAt([]byte{0, 0, 0, 100, 0, 1, 0, 0}, info.Size())
			require.NoError(t, err)
			require.NoError(t, f.Close())
		}},
		{"offset index entry naming the wrong batch", func(t *testing.T, mem *fs.Mem) {
			f, err := mem.OpenFile(filepath.Join(testDir, segmentName(0, indexExt)), os.O_RDWR, 0)
			require.NoError(t, err)
			info, _ := f.Stat()
			require.GreaterOrEqual(t, info.Size(), int64(16))
			flip := []byte{0}
			_, err = f.ReadAt(flip, info.Size()-5)
			require.NoError(t, err)
			flip[0]++
			_, err = f.WriteAt(flip, info.Size()-5) // last entry's relative offset +1
			require.NoError(t, err)
			require.NoError(t, f.Close())
		}},
		{"time index not increasing", func(t *testing.T, mem *fs.Mem) {
			f, err := mem.OpenFile(filepath.Join(testDir, segmentName(0, timeIndexExt)), os.O_RDWR, 0)
			require.NoError(t, err)
			_, err = f.WriteAt(make([]byte, 24), 0)
			require.NoError(t, err)
			require.NoError(t, f.Close())
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := fs.NewMem()
			want := multiSegmentLog(t, mem, cfg)
			tt.corrupt(t, mem)
			l := openLog(t, mem, cfg, nil)
			defer l.Close()
			assert.Equal(t, want, readAllLog(t, l))
			for off := int64(0); off < l.LogEndOffset(); off++ {
				got, err := l.Read(off, l.LogEndOffset(), 1, true)
				require.NoError(t, err)
				ss := spans(t, got)
				require.Len(t, ss, 1)
				require.Equal(t, off/2*2, ss[0].base)
			}
			o, ts, found, err := l.OffsetForTimestamp(7)
			require.NoError(t, err)
			assert.True(t, found)
			assert.Equal(t, []int64{14, 7}, []int64{o, ts})
		})
	}
}

func TestLeftoversAreCleanedUp(t *testing.T) {
	mem := fs.NewMem()
	want := multiSegmentLog(t, mem, Config{SegmentBytes: 600})
	for _, name := range []string{"leader-epoch-checkpoint.tmp", segmentName(999, indexExt), segmentName(999, timeIndexExt)} {
		f, err := mem.OpenFile(filepath.Join(testDir, name), os.O_RDWR|os.O_CREATE, 0o644)
		require.NoError(t, err)
		_, _ = f.Write([]byte("junk"))
		require.NoError(t, f.Close())
	}
	l := openLog(t, mem, Config{SegmentBytes: 600}, nil)
	defer l.Close()
	assert.Equal(t, want, readAllLog(t, l))
	names, err := mem.ReadDir(testDir)
	require.NoError(t, err)
	for _, n := range names {
		assert.NotContains(t, n, ".tmp")
		assert.NotContains(t, n, "999")
	}
}

func TestSyncFailureIsSticky(t *testing.T) {
	mem := fs.NewMem()
	l := openLog(t, mem, Config{}, nil)
	mustAppend(t, l, simpleBatch(t, 1, 0), 0)
	require.NoError(t, l.Sync())
	boom := errors.New("disk on fire")
	mem.FailSync(boom)
	mustAppend(t, l, simpleBatch(t, 1, 0), 0)
	err := l.Sync()
	assert.ErrorIs(t, err, boom)
	assert.ErrorIs(t, err, ErrLogFailed, "the failure is the log's, for the broker to act on")
	mem.FailSync(nil)
	_, err = l.Append(simpleBatch(t, 1, 0), 0, -1)
	assert.ErrorIs(t, err, boom, "a log whose fsync failed takes no writes")
	assert.ErrorIs(t, err, ErrLogFailed)
	err = l.Sync()
	assert.ErrorIs(t, err, boom, "nor claims durability")
	assert.ErrorIs(t, err, ErrLogFailed)
	assert.Equal(t, int64(1), l.SyncedOffset())
	got, err := l.Read(0, 2, 1<<20, false)
	require.NoError(t, err, "reads still work")
	assert.Len(t, spans(t, got), 2)

	mem.Crash(fs.CrashOptions{})
	l = openLog(t, mem, Config{}, nil)
	defer l.Close()
	assert.Equal(t, int64(1), l.LogEndOffset())
}

func TestCrashWithUnsyncedSegmentWhoseNameIsDurable(t *testing.T) {
	// A new epoch's checkpoint write syncs the directory, which makes the
	// name of a freshly rolled segment durable while the bytes before it
	// (the old segment's unsynced tail) are lost: recovery must see the
	// gap as unsynced leftovers, not as corruption.
	mem := fs.NewMem()
	cfg := Config{SegmentBytes: 500}
	l := openLog(t, mem, cfg, nil)
	mustAppend(t, l, simpleBatch(t, 2, 0), 1)
	require.NoError(t, l.Sync())
	want := readAllLog(t, l)
	for range 6 {
		mustAppend(t, l, simpleBatch(t, 2, 0), 1)
	}
	require.Greater(t, len(segmentFiles(t, mem)), 1)
	mustAppend(t, l, simpleBatch(t, 2, 0), 2) // writes the epoch checkpoint
	mem.Crash(fs.CrashOptions{})
	require.Greater(t, len(segmentFiles(t, mem)), 1, "the rolled segment's name survived")

	l = openLog(t, mem, cfg, nil)
	defer l.Close()
	assert.Equal(t, want, readAllLog(t, l))
	assert.Len(t, segmentFiles(t, mem), 1)
	assert.Equal(t, int32(1), l.LatestEpoch())
}
