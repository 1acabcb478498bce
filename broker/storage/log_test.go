package storage

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ordo-broker/ordo/broker/fs"
)

func TestAppendAssignsOffsetsWithoutTouchingInput(t *testing.T) {
	l := openLog(t, fs.NewMem(), Config{}, nil)
	defer l.Close()
	in := append(simpleBatch(t, 2, 100), simpleBatch(t, 3, 200)...)
	orig := append([]byte(nil), in...)

	info, err := l.Append(in, 7, -1)
	require.NoError(t, err)
	assert.Equal(t, orig, in, "the caller's buffer is not modified")
	assert.Equal(t, int64(0), info.FirstOffset)
	assert.Equal(t, int64(4), info.LastOffset)
	assert.Equal(t, int64(200), info.MaxTimestamp)
	assert.Equal(t, int64(4), info.OffsetOfMaxTimestamp)
	assert.Equal(t, int64(-1), info.LogAppendTime)
	require.Len(t, info.Batches, 2)
	assert.Equal(t, int64(2), info.Batches[1].BaseOffset)

	info, err = l.Append(simpleBatch(t, 1, 300), 7, -1)
	require.NoError(t, err)
	assert.Equal(t, int64(5), info.FirstOffset)
	assert.Equal(t, int64(6), l.LogEndOffset())

	got := readAllLog(t, l)
	batches, err := ParseBatches(got)
	require.NoError(t, err)
	for _, b := range batches {
		assert.Equal(t, int32(7), b.PartitionLeaderEpoch)
	}
	assert.Equal(t, []span{{0, 1}, {2, 4}, {5, 5}}, spans(t, got))
}

func TestAppendLogAppendTime(t *testing.T) {
	l := openLog(t, fs.NewMem(), Config{}, nil)
	defer l.Close()
	info, err := l.Append(makeBatch(t, 2, 10, 20), 1, 5555)
	require.NoError(t, err)
	assert.Equal(t, int64(5555), info.LogAppendTime)
	assert.Equal(t, int64(5555), info.MaxTimestamp)

	got, err := l.Read(0, 2, 1<<20, false)
	require.NoError(t, err)
	batches, err := ParseBatches(got) // the recomputed CRC checks
	require.NoError(t, err)
	require.Len(t, batches, 1)
	assert.True(t, batches[0].LogAppendTime())
	assert.Equal(t, int8(2), batches[0].Compression(), "compression bits kept")
	assert.Equal(t, int64(5555), batches[0].MaxTimestamp)
	assert.Equal(t, int64(10), batches[0].FirstTimestamp)
}

func TestAppendRejects(t *testing.T) {
	l := openLog(t, fs.NewMem(), Config{}, nil)
	defer l.Close()
	bad := simpleBatch(t, 1, 1)
	bad[len(bad)-1] ^= 1
	_, err := l.Append(bad, 0, -1)
	assert.ErrorIs(t, err, ErrCorruptBatch)

	mustAppend(t, l, simpleBatch(t, 1, 1), 5)
	_, err = l.Append(simpleBatch(t, 1, 1), 4, -1)
	assert.ErrorIs(t, err, ErrFencedLeaderEpoch)
	assert.Equal(t, int64(1), l.LogEndOffset())
}

func TestRead(t *testing.T) {
	l := openLog(t, fs.NewMem(), Config{}, nil)
	defer l.Close()
	sizes := []int{}
	for _, n := range []int{1, 3, 2, 4} { // offsets 0 | 1-3 | 4-5 | 6-9
		info := mustAppend(t, l, simpleBatch(t, n, 1000), 0)
		sizes = append(sizes, info.Batches[0].Size)
	}
	tests := []struct {
		name              string
		offset, maxOffset int64
		maxBytes          int
		minOne            bool
		want              []span
		wantErr           error
	}{
		{name: "all", offset: 0, maxOffset: 10, maxBytes: 1 << 20, want: []span{{0, 0}, {1, 3}, {4, 5}, {6, 9}}},
		{name: "middle of a batch returns the whole batch", offset: 2, maxOffset: 10, maxBytes: 1 << 20, want: []span{{1, 3}, {4, 5}, {6, 9}}},
		{name: "last offset of a batch", offset: 5, maxOffset: 10, maxBytes: 1 << 20, want: []span{{4, 5}, {6, 9}}},
		{name: "stops before the batch reaching maxOffset", offset: 0, maxOffset: 6, maxBytes: 1 << 20, want: []span{{0, 0}, {1, 3}, {4, 5}}},
		{name: "a batch straddling maxOffset is not returned", offset: 0, maxOffset: 5, maxBytes: 1 << 20, want: []span{{0, 0}, {1, 3}}},
		{name: "first batch straddles maxOffset", offset: 4, maxOffset: 5, maxBytes: 1 << 20, want: nil},
		{name: "maxOffset past the end is the end", offset: 0, maxOffset: 1000, maxBytes: 1 << 20, want: []span{{0, 0}, {1, 3}, {4, 5}, {6, 9}}},
		{name: "maxBytes cuts at a batch boundary", offset: 0, maxOffset: 10, maxBytes: sizes[0] + sizes[1] + sizes[2] - 1, want: []span{{0, 0}, {1, 3}}},
		{name: "maxBytes exact", offset: 0, maxOffset: 10, maxBytes: sizes[0] + sizes[1], want: []span{{0, 0}, {1, 3}}},
		{name: "first batch larger than maxBytes, minOne", offset: 1, maxOffset: 10, maxBytes: 10, minOne: true, want: []span{{1, 3}}},
		{name: "first batch larger than maxBytes", offset: 1, maxOffset: 10, maxBytes: 10, want: nil},
		{name: "zero maxBytes, minOne", offset: 6, maxOffset: 10, maxBytes: 0, minOne: true, want: []span{{6, 9}}},
		{name: "at the log end", offset: 10, maxOffset: 10, maxBytes: 1 << 20, want: nil},
		{name: "at maxOffset", offset: 4, maxOffset: 4, maxBytes: 1 << 20, want: nil},
		{name: "past the log end", offset: 11, maxOffset: 20, maxBytes: 1 << 20, wantErr: ErrOffsetOutOfRange},
		{name: "negative", offset: -1, maxOffset: 10, maxBytes: 1 << 20, wantErr: ErrOffsetOutOfRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := l.Read(tt.offset, tt.maxOffset, tt.maxBytes, tt.minOne)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, spans(t, got))
		})
	}
}

func TestRollBySizeAndIndexedReads(t *testing.T) {
	for _, interval := range []int{1, 200, 4096} {
		t.Run(fmt.Sprintf("index interval %d", interval), func(t *testing.T) {
			mem := fs.NewMem()
			l := openLog(t, mem, Config{SegmentBytes: 1000, IndexIntervalBytes: interval}, nil)
			defer l.Close()
			var want []span
			for i := range 60 {
				info := mustAppend(t, l, simpleBatch(t, 1+i%3, int64(i)), 0)
				want = append(want, span{info.FirstOffset, info.LastOffset})
			}
			files := segmentFiles(t, mem)
			assert.Greater(t, len(files), 5)
			assert.Equal(t, "00000000000000000000.log", files[0])
			for _, f := range files {
				info, err := mem.Stat(filepath.Join(testDir, f))
				require.NoError(t, err)
				assert.LessOrEqual(t, info.Size(), int64(1000))
			}
			var total int64
			for _, f := range files {
				info, _ := mem.Stat(filepath.Join(testDir, f))
				total += info.Size()
			}
			assert.Equal(t, total, l.Size())
			// Every offset finds its batch, whichever segment it is in.
			for _, w := range want {
				for off := w.base; off <= w.last; off++ {
					got, err := l.Read(off, l.LogEndOffset(), 1, true)
					require.NoError(t, err)
					require.Equal(t, []span{w}, spans(t, got), "offset %d", off)
				}
			}
			// One read may span segments.
			got, err := l.Read(0, l.LogEndOffset(), 1<<20, false)
			require.NoError(t, err)
			assert.Equal(t, want, spans(t, got))
		})
	}
}

func TestRollByTime(t *testing.T) {
	mem := fs.NewMem()
	clock := newClock()
	l := openLog(t, mem, Config{SegmentMs: time.Hour}, clock)
	defer l.Close()
	steps := []struct {
		advance  time.Duration
		segments int
	}{
		{0, 1},
		{30 * time.Minute, 1},
		{30 * time.Minute, 1}, // exactly segment.ms: not older yet
		{time.Millisecond, 2}, // older: roll; the new segment's clock starts now
		{59 * time.Minute, 2},
		{2 * time.Minute, 3},
	}
	for i, s := range steps {
		clock.advance(s.advance)
		mustAppend(t, l, simpleBatch(t, 1, 0), 0)
		assert.Len(t, segmentFiles(t, mem), s.segments, "step %d", i)
	}
	readAllLog(t, l)
}

func TestSetConfigRollsFromNowOn(t *testing.T) {
	mem := fs.NewMem()
	l := openLog(t, mem, Config{}, nil)
	defer l.Close()
	for range 5 {
		mustAppend(t, l, simpleBatch(t, 1, 0), 0)
	}
	require.Len(t, segmentFiles(t, mem), 1)
	l.SetConfig(Config{SegmentBytes: 1})
	mustAppend(t, l, simpleBatch(t, 1, 0), 0)
	mustAppend(t, l, simpleBatch(t, 1, 0), 0)
	assert.Len(t, segmentFiles(t, mem), 3)
	readAllLog(t, l)
}

func TestRestartKeepsEverything(t *testing.T) {
	mem := fs.NewMem()
	cfg := Config{SegmentBytes: 500, IndexIntervalBytes: 100}
	l := openLog(t, mem, cfg, nil)
	for i := range 30 {
		mustAppend(t, l, makeBatch(t, int8(i%5), int64(1000+i), int64(900+i)), int32(i/10))
	}
	require.NoError(t, l.SetLogStartOffset(7))
	before := readAllLog(t, l)
	ts, tsOff, err := l.MaxTimestamp()
	require.NoError(t, err)
	leo := l.LogEndOffset()
	require.NoError(t, l.Close())
	_, err = l.Read(10, 20, 100, true)
	assert.ErrorIs(t, err, ErrClosed)
	_, err = l.Append(simpleBatch(t, 1, 0), 3, -1)
	assert.ErrorIs(t, err, ErrClosed)

	l = openLog(t, mem, cfg, nil)
	defer l.Close()
	assert.Equal(t, leo, l.LogEndOffset())
	assert.Equal(t, leo, l.SyncedOffset())
	assert.Equal(t, int64(7), l.LogStartOffset())
	assert.Equal(t, int32(2), l.LatestEpoch())
	assert.Equal(t, before, readAllLog(t, l))
	ts2, tsOff2, err := l.MaxTimestamp()
	require.NoError(t, err)
	assert.Equal(t, []int64{ts, tsOff}, []int64{ts2, tsOff2})
	info := mustAppend(t, l, simpleBatch(t, 1, 0), 3)
	assert.Equal(t, leo, info.FirstOffset)
}

func TestAppendAsFollower(t *testing.T) {
	leader := openLog(t, fs.NewMem(), Config{}, nil)
	defer leader.Close()
	mustAppend(t, leader, simpleBatch(t, 2, 0), 1)
	mustAppend(t, leader, simpleBatch(t, 1, 0), 3)
	fetched, err := leader.Read(0, leader.LogEndOffset(), 1<<20, false)
	require.NoError(t, err)

	follower := openLog(t, fs.NewMem(), Config{}, nil)
	defer follower.Close()
	info, err := follower.AppendAsFollower(fetched)
	require.NoError(t, err)
	assert.Equal(t, int64(2), info.LastOffset)
	assert.Equal(t, fetched, readAllLog(t, follower))
	e, off := follower.EndOffsetForEpoch(1)
	assert.Equal(t, []int64{1, 2}, []int64{int64(e), off})

	_, err = follower.AppendAsFollower(fetched)
	assert.ErrorIs(t, err, ErrOffsetMismatch)
}

func TestDelete(t *testing.T) {
	mem := fs.NewMem()
	l := openLog(t, mem, Config{}, nil)
	mustAppend(t, l, simpleBatch(t, 1, 0), 0)
	require.NoError(t, l.Delete())
	_, err := mem.Stat(testDir)
	assert.True(t, fs.IsNotExist(err))
	mem.Crash(fs.CrashOptions{})
	_, err = mem.Stat(testDir)
	assert.True(t, fs.IsNotExist(err), "the deletion is durable")
	_, err = l.Read(0, 1, 100, true)
	assert.ErrorIs(t, err, ErrClosed)
}

func TestOnRealDisk(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "topic-0")
	l, err := Open(fs.NewOS(), dir, Config{SegmentBytes: 300, IndexIntervalBytes: 1}, nil)
	require.NoError(t, err)
	for i := range 20 {
		mustAppend(t, l, simpleBatch(t, 2, int64(i)), 1)
	}
	require.NoError(t, l.Sync())
	want := readAllLog(t, l)
	require.NoError(t, l.Close())
	l, err = Open(fs.NewOS(), dir, Config{SegmentBytes: 300, IndexIntervalBytes: 1}, nil)
	require.NoError(t, err)
	defer l.Close()
	assert.Equal(t, want, readAllLog(t, l))
}

func TestConcurrentAppendSyncRead(t *testing.T) {
	// Also through a file cache of 4 descriptors, fewer than the log's
	// files: descriptors close and reopen under concurrent use.
	for name, mkfs := range map[string]func() fs.FS{
		"mem":        func() fs.FS { return fs.NewMem() },
		"file-cache": func() fs.FS { return fs.NewFileCache(fs.NewMem(), 4) },
	} {
		t.Run(name, func(t *testing.T) {
			fsys := mkfs()
			l := openLog(t, fsys, Config{SegmentBytes: 2000, IndexIntervalBytes: 150}, nil)
			defer l.Close()
			var wg sync.WaitGroup
			stop := make(chan struct{})
			for w := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 50 {
						info, err := l.Append(simpleBatch(t, 1+i%4, int64(w)), 0, -1)
						if !assert.NoError(t, err) {
							return
						}
						if i%5 == 0 {
							if !assert.NoError(t, l.Sync()) {
								return
							}
							assert.GreaterOrEqual(t, l.SyncedOffset(), info.LastOffset+1,
								"Sync covers every append made before it")
						}
					}
				}()
			}
			var readers sync.WaitGroup
			for range 3 {
				readers.Add(1)
				go func() {
					defer readers.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						end := l.LogEndOffset()
						for off := int64(0); off < end; off += 7 {
							got, err := l.Read(off, end, 500, true)
							if !assert.NoError(t, err) {
								return
							}
							ss := spans(t, got)
							if assert.NotEmpty(t, ss) {
								assert.LessOrEqual(t, ss[0].base, off)
								assert.GreaterOrEqual(t, ss[0].last, off)
							}
						}
					}
				}()
			}
			wg.Wait()
			close(stop)
			readers.Wait()
			require.NoError(t, l.Sync())
			assert.Equal(t, l.LogEndOffset(), l.SyncedOffset())
			got := readAllLog(t, l)
			assert.Equal(t, int64(4*(50/4*10+1+2)), l.LogEndOffset()) // each worker: 50 batches of 1..4 records
			assert.True(t, bytes.Contains(got, []byte("k0")))
		})
	}
}
