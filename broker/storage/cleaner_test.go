package storage

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/ordo-broker/ordo/broker/recordbatch"
	"github.com/ordo-broker/ordo/model"
)

var cleanCfg = Config{SegmentBytes: 700, IndexIntervalBytes: 100}

// fillKeyed appends n batches of 3 records over keys k0..k(keys-1), with
// unique values and a tombstone every 7th record, and syncs.
func fillKeyed(t testing.TB, l *Log, codec int8, n, keys int, ts int64) {
	t.Helper()
	i := 0
	for range n {
		var recs []kv
		for range 3 {
			k := fmt.Sprintf("k%d", i%keys)
			if i%7 == 6 {
				recs = append(recs, tomb(k))
			} else {
				recs = append(recs, rec(k, fmt.Sprintf("v%d-%s", i, strings.Repeat("x", i%5))))
			}
			i++
		}
		mustAppend(t, l, keyedBatch(t, codec, ts+int64(i), recs...), 0)
	}
	require.NoError(t, l.Sync())
}

func TestCleanKeepsTheLatestRecordPerKey(t *testing.T) {
	for codec := int8(0); codec <= 4; codec++ {
		t.Run(fmt.Sprintf("codec %d", codec), func(t *testing.T) {
			mem := fs.NewMem()
			l := openLog(t, mem, cleanCfg, nil)
			fillKeyed(t, l, codec, 40, 5, 1000)
			before := logRecords(t, l)
			end := l.LogEndOffset()
			segs := len(segmentFiles(t, mem))
			upTo := activeBase(l)
			require.Greater(t, segs, 3)

			res := mustClean(t, l, forced(false))
			require.True(t, res.Ran)
			assert.Equal(t, upTo, res.End)
			assert.Equal(t, countBelow(before, upTo), res.Records)
			got := logRecords(t, l)
			want := model.CompactRecords(toModel(before), upTo, false)
			require.Equal(t, want, toModel(got))
			assert.Equal(t, end, l.LogEndOffset(), "the log end does not move")
			requireContiguous(t, l)
			assert.Equal(t, res.Kept, countBelow(got, upTo))

			// Rewritten batches keep their codec.
			batches, _ := logBatches(t, l)
			for _, b := range batches {
				if b.NumRecords > 0 {
					assert.Equal(t, codec, b.Compression())
				}
			}

			// Timestamps survive re-encoding.
			byOffset := map[int64]int64{}
			for _, r := range before {
				byOffset[r.Offset] = r.Timestamp
			}
			for _, r := range got {
				assert.Equal(t, byOffset[r.Offset], r.Timestamp, "timestamp of offset %d", r.Offset)
			}

			// A second pass finds nothing dirty.
			res = mustClean(t, l, forced(false))
			assert.False(t, res.Ran)

			// Tombstones go once their time has come, at the next pass;
			// and the segments the first pass shrank merge.
			dead := mustAppend(t, l, keyedBatch(t, codec, 2000, rec("dead", "1"), tomb("dead")), 0)
			for activeBase(l) <= dead.LastOffset {
				fillKeyed(t, l, codec, 1, 5, 3000)
			}
			segs = len(segmentFiles(t, mem))
			before = logRecords(t, l)
			upTo = activeBase(l)
			res = mustClean(t, l, CleanOptions{HighWatermark: math.MaxInt64, DeleteRetentionMs: 0, Force: true, Now: time.UnixMilli(1e6)})
			require.True(t, res.Ran)
			assert.Positive(t, res.TombstonesDropped)
			got = logRecords(t, l)
			require.Equal(t, model.CompactRecords(toModel(before), upTo, true), toModel(got))
			for _, r := range got {
				assert.NotEqual(t, "dead", string(r.Key))
			}
			assert.Less(t, len(segmentFiles(t, mem)), segs, "small cleaned segments merge")
			requireContiguous(t, l)

			// Everything survives a restart and a crash (the swap was
			// durable when Clean returned).
			want = toModel(logRecords(t, l))
			require.NoError(t, l.Close())
			l = openLog(t, mem, cleanCfg, nil)
			require.Equal(t, want, toModel(logRecords(t, l)))
			mem.Crash(fs.CrashOptions{TearLastWrite: true})
			l = openLog(t, mem, cleanCfg, nil)
			require.Equal(t, want, toModel(logRecords(t, l)))
			requireContiguous(t, l)
			end = l.LogEndOffset()
			info := mustAppend(t, l, keyedBatch(t, codec, 5000, rec("k1", "after")), 0)
			assert.Equal(t, end, info.FirstOffset, "appends go on at the log end")
			require.NoError(t, l.Close())
		})
	}
}

func countFrom(rs []storedRecord, offset int64) int {
	n := 0
	for _, r := range rs {
		if r.Offset >= offset {
			n++
		}
	}
	return n
}

func countBelow(rs []storedRecord, offset int64) int { return len(rs) - countFrom(rs, offset) }

func TestCleanDirtyRatioAndLags(t *testing.T) {
	mem := fs.NewMem()
	l := openLog(t, mem, cleanCfg, nil)
	defer l.Close()
	fillKeyed(t, l, 0, 60, 1000, 1000) // every key distinct: nothing to remove
	opts := CleanOptions{HighWatermark: math.MaxInt64, DeleteRetentionMs: math.MaxInt64 / 2, MinCleanableDirtyRatio: 0.5, Now: time.UnixMilli(1e6)}

	// All dirty: ratio 1.
	res := mustClean(t, l, opts)
	require.True(t, res.Ran, res.Skipped)
	assert.InDelta(t, 1.0, res.DirtyRatio, 1e-9)
	assert.Zero(t, res.Swapped, "nothing changed, so nothing was swapped")

	// One more segment: the ratio is below 0.5.
	addSegment := func(ts int64) {
		base := activeBase(l)
		for activeBase(l) == base {
			fillKeyed(t, l, 0, 1, 5, ts)
		}
	}
	addSegment(2000)
	res = mustClean(t, l, opts)
	assert.False(t, res.Ran)
	assert.Contains(t, res.Skipped, "dirty ratio")
	assert.Less(t, res.DirtyRatio, 0.5)
	assert.Positive(t, res.DirtyRatio)

	// max.compaction.lag.ms forces a pass once the first dirty batch is
	// older than it.
	raw, err := l.Read(res.FirstDirty, l.LogEndOffset(), 1, true)
	require.NoError(t, err)
	first, err := ParseBatchHeaders(raw)
	require.NoError(t, err)
	age := 1e6 - first[0].MaxTimestamp
	lag := opts
	lag.MaxCompactionLagMs = age
	res = mustClean(t, l, lag)
	assert.False(t, res.Ran, "the first dirty batch is not older than the max lag")
	lag.MaxCompactionLagMs = age - 1
	res = mustClean(t, l, lag)
	assert.True(t, res.Ran, res.Skipped)

	// min.compaction.lag.ms keeps young segments out.
	addSegment(900_000)
	minLag := opts
	minLag.MinCleanableDirtyRatio = 0
	minLag.MinCompactionLagMs = 200_000 // records after 800_000 are too young
	res = mustClean(t, l, minLag)
	assert.False(t, res.Ran)
	minLag.MinCompactionLagMs = 50_000
	res = mustClean(t, l, minLag)
	assert.True(t, res.Ran, res.Skipped)
}

func TestCleanOnlyCommittedDurableClosedSegments(t *testing.T) {
	mem := fs.NewMem()
	l := openLog(t, mem, cleanCfg, nil)
	defer l.Close()
	fillKeyed(t, l, 0, 20, 3, 1000)
	segs := segmentInfos(l)
	require.Greater(t, len(segs), 3)

	// The high watermark inside the third segment: two are cleanable.
	o := forced(false)
	o.HighWatermark = segs[2].base + 1
	res := mustClean(t, l, o)
	require.True(t, res.Ran)
	assert.Equal(t, segs[2].base, res.End)

	// Unsynced segments wait for their fsync.
	for range 20 {
		mustAppend(t, l, keyedBatch(t, 0, 1, rec("k0", "unsynced"), rec("k1", "unsynced")), 0)
	}
	synced := segmentInfos(l)
	res = mustClean(t, l, forced(false))
	assert.LessOrEqual(t, res.End, l.SyncedOffset())
	require.NoError(t, l.Sync())
	res = mustClean(t, l, forced(false))
	assert.Greater(t, res.End, synced[len(synced)-1].base-1)
	assert.Equal(t, activeBase(l), res.End)
}

// An idempotent producer's last batch stays, empty if need be, so its
// sequence survives compaction (Kafka's BatchRetention.RETAIN_EMPTY);
// its earlier batches go when all their records do.
func TestCleanKeepsAProducersLastBatch(t *testing.T) {
	mem := fs.NewMem()
	l := openLog(t, mem, cleanCfg, nil)
	defer l.Close()
	p := producerFields{id: 7, epoch: 2, seq: 0}
	mustAppend(t, l, producerBatch(t, 0, p, 100, rec("a", "1"), rec("b", "1")), 0)
	p.seq = 2
	last := mustAppend(t, l, producerBatch(t, 4, p, 101, rec("a", "2"), rec("b", "2"), rec("c", "2")), 0)
	for i := range 30 { // supersede a, b and c; roll a few segments
		mustAppend(t, l, keyedBatch(t, 0, 200, rec("a", fmt.Sprint(i)), rec("b", fmt.Sprint(i)), rec("c", fmt.Sprint(i))), 0)
	}
	require.NoError(t, l.Sync())
	mustClean(t, l, forced(false))

	batches, _ := logBatches(t, l)
	var mine []Batch
	for _, b := range batches {
		if b.ProducerID == 7 {
			mine = append(mine, b)
		}
	}
	require.Len(t, mine, 1, "the first batch went, the last stayed")
	b := mine[0]
	assert.Equal(t, last.FirstOffset, b.BaseOffset)
	assert.Equal(t, last.LastOffset, b.LastOffset(), "the last offset (and so the last sequence) is kept")
	assert.Equal(t, int32(0), b.NumRecords)
	assert.Equal(t, int32(2), b.BaseSequence)
	assert.Equal(t, int16(2), b.ProducerEpoch)
	assert.Equal(t, int8(0), b.Compression(), "an empty batch is written uncompressed")
	assert.Equal(t, recordbatch.HeaderSize, b.Size)
}

func TestCleanDropsKeylessRecords(t *testing.T) {
	mem := fs.NewMem()
	l := openLog(t, mem, cleanCfg, nil)
	defer l.Close()
	for i := range 20 {
		mustAppend(t, l, keyedBatch(t, 0, 1, nokey(fmt.Sprint("n", i)), rec("k", fmt.Sprint(i))), 0)
	}
	require.NoError(t, l.Sync())
	res := mustClean(t, l, forced(false))
	assert.Positive(t, res.KeylessDropped)
	for _, r := range logRecords(t, l) {
		if r.Offset < res.End {
			assert.NotNil(t, r.Key)
		}
	}
}

// controlBatch is a transaction marker whose record has no key.
func controlBatch(t *testing.T) []byte {
	return encodeBatch(t, Batch{
		Attributes: recordbatch.AttrControl | recordbatch.AttrTransactional, PartitionLeaderEpoch: -1,
		ProducerID: 3, BaseSequence: -1, NumRecords: 1,
	}, []kmsg.Record{{Value: []byte{0, 0, 0, 0, 0, 0}}})
}

// The cleaner keeps control batches as they are.
func TestControlBatchesAreSkipped(t *testing.T) {
	ctrl := controlBatch(t)
	records := append(keyedBatch(t, 0, 1, rec("a", "1")), ctrl...)
	batches, err := ParseBatches(records)
	require.NoError(t, err)

	h := batches[1]
	require.True(t, h.Control())
	drop := func(*kmsg.Record, int64) recordFate { return dropKeyless }
	out, f, err := filterBatch(nil, ctrl, h, drop, false)
	require.NoError(t, err)
	assert.True(t, f.verbatim)
	assert.Equal(t, ctrl, out)
}

// The map bound ends a pass early; later passes finish the job.
func TestCleanBoundedMap(t *testing.T) {
	mem := fs.NewMem()
	l := openLog(t, mem, cleanCfg, nil)
	defer l.Close()
	fillKeyed(t, l, 0, 40, 50, 1000)
	before := logRecords(t, l)
	upTo := activeBase(l)
	o := forced(false)
	o.MaxMapBytes = 1
	passes := 0
	for {
		res := mustClean(t, l, o)
		if !res.Ran {
			break
		}
		passes++
		require.LessOrEqual(t, passes, 100)
	}
	assert.Greater(t, passes, 2)
	// Passes that each mapped part of the dirty range compose into the
	// compaction of the whole (the model's nested-range property).
	require.Equal(t, model.CompactRecords(toModel(before), upTo, false), toModel(logRecords(t, l)))
}

func TestCleanStopsWhenAsked(t *testing.T) {
	mem := fs.NewMem()
	l := openLog(t, mem, cleanCfg, nil)
	defer l.Close()
	fillKeyed(t, l, 0, 40, 5, 1000)
	before := logRecords(t, l)
	o := forced(false)
	stop := make(chan struct{})
	close(stop)
	o.Stop = stop
	res := mustCleanAborted(t, l, o)
	assert.True(t, res.Aborted)
	assert.Equal(t, before, logRecords(t, l))
	for _, n := range dirNames(t, mem) {
		assert.NotContains(t, n, cleanedExt)
	}
}

func mustCleanAborted(t *testing.T, l *Log, o CleanOptions) CleanResult {
	res, err := l.Clean(o)
	require.NoError(t, err)
	return res
}

func dirNames(t testing.TB, mem fs.FS) []string {
	names, err := mem.ReadDir(testDir)
	require.NoError(t, err)
	return names
}

// Appends, reads and syncs go on while the cleaner works; readers see a
// subsequence of what was written, with every key's latest value.
func TestCleanConcurrentWithAppendsAndReads(t *testing.T) {
	// Also through a file cache of 4 descriptors, fewer than the log's
	// files: descriptors close and reopen under concurrent use.
	for name, mkfs := range map[string]func() fs.FS{
		"mem":        func() fs.FS { return fs.NewMem() },
		"file-cache": func() fs.FS { return fs.NewFileCache(fs.NewMem(), 4) },
	} {
		t.Run(name, func(t *testing.T) {
			fsys := mkfs()
			l := openLog(t, fsys, Config{SegmentBytes: 2000, IndexIntervalBytes: 200}, nil)
			defer l.Close()
			var written sync.Map // offset -> value
			var stop atomic.Bool
			var passes, reads atomic.Int32
			var wg sync.WaitGroup
			wg.Add(3)
			go func() { // producer
				defer wg.Done()
				for i := 0; !stop.Load(); i++ {
					v := fmt.Sprintf("v%d", i)
					info, err := l.Append(keyedBatch(t, int8(i%2*2), int64(i), rec(fmt.Sprintf("k%d", i%20), v)), 0, -1)
					if err != nil {
						t.Error(err)
						return
					}
					written.Store(info.FirstOffset, v)
					if i%10 == 0 {
						if err := l.Sync(); err != nil {
							t.Error(err)
							return
						}
					}
				}
			}()
			go func() { // reader
				defer wg.Done()
				for !stop.Load() {
					b, err := l.Read(l.LogStartOffset(), l.SyncedOffset(), math.MaxInt32, true)
					if err != nil {
						t.Error(err)
						return
					}
					if len(b) == 0 {
						continue
					}
					batches, err := recordbatch.ParseAll(b)
					if err != nil {
						t.Error(err)
						return
					}
					prev := int64(-1)
					for _, h := range batches {
						if h.BaseOffset <= prev {
							t.Errorf("offsets go back: %d after %d", h.BaseOffset, prev)
						}
						prev = h.LastOffset()
					}
					reads.Add(1)
				}
			}()
			go func() { // cleaner
				defer wg.Done()
				for !stop.Load() {
					res, err := l.Clean(CleanOptions{HighWatermark: math.MaxInt64, Force: true, DeleteRetentionMs: math.MaxInt64 / 2})
					if err != nil {
						t.Error(err)
						return
					}
					if res.Swapped > 0 {
						passes.Add(1)
					}
					time.Sleep(time.Millisecond)
				}
			}()
			deadline := time.Now().Add(2 * time.Second)
			for time.Now().Before(deadline) && (passes.Load() < 10 || reads.Load() < 10) {
				time.Sleep(10 * time.Millisecond)
			}
			stop.Store(true)
			wg.Wait()
			require.NoError(t, l.Sync())
			t.Logf("%d passes swapped segments in, %d reads", passes.Load(), reads.Load())
			assert.Positive(t, passes.Load())

			// Every record read back was written at its offset, and every key's
			// latest value is there.
			got := logRecords(t, l)
			for _, r := range got {
				v, ok := written.Load(r.Offset)
				require.True(t, ok)
				require.Equal(t, v, string(r.Value))
			}
			latest := map[string]int64{}
			for _, r := range got {
				latest[string(r.Key)] = max(latest[string(r.Key)], r.Offset)
			}
			assert.Len(t, latest, 20)
		})
	}
}

// The rewritten batches are what a client reads: valid CRCs, the kept
// records at their offsets, compressed with the original codec.
func TestCleanedBatchesDecodeWithKmsg(t *testing.T) {
	mem := fs.NewMem()
	l := openLog(t, mem, cleanCfg, nil)
	defer l.Close()
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 50 {
		var recs []kv
		for j := range 1 + r.IntN(4) {
			recs = append(recs, rec(fmt.Sprintf("k%d", r.IntN(8)), fmt.Sprint(i, "-", j)))
		}
		mustAppend(t, l, keyedBatch(t, int8(r.IntN(5)), int64(i), recs...), 0)
	}
	require.NoError(t, l.Sync())
	mustClean(t, l, forced(false))
	_, b := logBatches(t, l)
	// Stored batches are checked like produced ones; compacted ones fail only
	// the density rule, never the CRC.
	batches, err := recordbatch.ParseAll(b)
	require.NoError(t, err)
	gaps := 0
	for _, h := range batches {
		if int64(h.NumRecords) < int64(h.LastOffsetDelta)+1 {
			gaps++
		}
	}
	assert.Positive(t, gaps, "some batches have gaps")
}
