package storage

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/ordo-broker/ordo/model"
)

// requireValidAfterClean checks what a log must hold after a crash at any
// point of a compaction pass: a subsequence of the log before the pass
// (every record at its offset, as written), containing every record the
// pass was to keep, with the same log start and end offsets, contiguous
// segments, and no file of the cleaner left behind.
func requireValidAfterClean(t *testing.T, mem *fs.Mem, l *Log, before, want []model.Record, logStart, logEnd int64, what string) {
	t.Helper()
	got := toModel(logRecords(t, l))
	byOffset := map[int64]model.Record{}
	for _, r := range before {
		byOffset[r.Offset] = r
	}
	have := map[int64]bool{}
	for _, r := range got {
		require.Equal(t, byOffset[r.Offset], r, "%s: offset %d holds what was written there", what, r.Offset)
		have[r.Offset] = true
	}
	for _, r := range want {
		require.True(t, have[r.Offset], "%s: record at offset %d (key %q) that compaction keeps is gone", what, r.Offset, r.Key)
	}
	require.Equal(t, logStart, l.LogStartOffset(), what)
	require.Equal(t, logEnd, l.LogEndOffset(), what)
	requireContiguous(t, l)
	for _, n := range dirNames(t, mem) {
		require.False(t, strings.HasSuffix(n, cleanedExt) || strings.HasSuffix(n, swapExt), "%s: %s left behind", what, n)
	}
}

// TestCleanCrashAtEveryStep runs a compaction pass and simulates power
// loss right after its k-th filesystem operation, for every k until the
// pass completes: each time, recovery must give a valid log (see
// requireValidAfterClean) and the next pass must reach the full
// compaction. Where the crash left a .swap file, recovery itself is then
// crashed at each of its steps too.
func TestCleanCrashAtEveryStep(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 5))
	scenarios := []struct {
		codec int8
		drop  bool
	}{{0, false}, {2, true}, {4, false}}
	if testing.Short() {
		scenarios = scenarios[:1]
	}
	for _, sc := range scenarios {
		t.Run(fmt.Sprintf("codec %d drop tombstones %v", sc.codec, sc.drop), func(t *testing.T) {
			opts := forced(sc.drop)
			swaps, nested := 0, 0
			for k := 1; ; k++ {
				mem := fs.NewMem()
				cfs := &crashFS{Mem: mem, opts: fs.CrashOptions{TearLastWrite: true, Rand: r}}
				l := openLog(t, cfs, cleanCfg, nil)
				fillKeyed(t, l, sc.codec, 30, 6, 1000)
				// Start the log past offset 0, as retention leaves it.
				require.NoError(t, l.SetLogStartOffset(4))
				// A first pass shrinks the segments, so the crashed one
				// merges several into one (groups of more than one).
				mustClean(t, l, opts)
				fillKeyed(t, l, sc.codec, 12, 6, 2000)
				segsBefore := len(segmentFiles(t, mem))
				before := toModel(logRecords(t, l))
				upTo, logStart, logEnd := activeBase(l), l.LogStartOffset(), l.LogEndOffset()
				want := model.CompactRecords(before, upTo, sc.drop)

				cfs.arm(k)
				_, err := l.Clean(opts)
				if !cfs.didCrash() {
					cfs.disarm() // Close's fsyncs are not part of the pass
					require.NoError(t, err)
					require.Equal(t, want, toModel(logRecords(t, l)))
					require.Less(t, len(segmentFiles(t, mem)), segsBefore-1, "the pass merged segments")
					t.Logf("a pass took %d filesystem operations; crashed after each of them (%d left a swap to complete, %d recovery crashes)", k-1, swaps, nested)
					require.NoError(t, l.Close())
					return
				}
				what := fmt.Sprintf("crash after operation %d", k)
				hadSwap := false
				for _, n := range dirNames(t, mem) {
					hadSwap = hadSwap || strings.HasSuffix(n, swapExt)
				}
				if hadSwap {
					swaps++
					// Crash recovery too, at each of its steps.
					for j := 1; ; j++ {
						snapshot := cloneMem(t, mem)
						rfs := &crashFS{Mem: snapshot, opts: fs.CrashOptions{TearLastWrite: true, Rand: r}}
						rfs.arm(j)
						l2, err := Open(rfs, testDir, cleanCfg, nil)
						if !rfs.didCrash() {
							rfs.disarm() // Close's fsyncs are not part of recovery
							require.NoError(t, err, what)
							require.NoError(t, l2.Close())
							break
						}
						nested++
						l2 = openLog(t, snapshot, cleanCfg, nil)
						requireValidAfterClean(t, snapshot, l2, before, want, logStart, logEnd, fmt.Sprintf("%s, then after recovery step %d", what, j))
						require.NoError(t, l2.Close())
					}
				}
				l2 := openLog(t, mem, cleanCfg, nil)
				requireValidAfterClean(t, mem, l2, before, want, logStart, logEnd, what)
				// The next pass finishes the job.
				_, err = l2.Clean(opts)
				require.NoError(t, err, what)
				require.Equal(t, want, toModel(logRecords(t, l2)), what)
				requireContiguous(t, l2)
				require.NoError(t, l2.Close())
			}
		})
	}
}

// cloneMem copies a Mem that has just crashed (so everything in it is
// durable) into a new one, so that recovery can be crashed on the copy
// while the original stays for the next attempt.
func cloneMem(t *testing.T, mem *fs.Mem) *fs.Mem {
	t.Helper()
	out := fs.NewMem()
	var copyDir func(dir string)
	copyDir = func(dir string) {
		names, err := mem.ReadDir(dir)
		require.NoError(t, err)
		require.NoError(t, out.MkdirAll(dir, 0o755))
		for _, n := range names {
			p := dir + "/" + n
			info, err := mem.Stat(p)
			require.NoError(t, err)
			if info.IsDir() {
				copyDir(p)
				continue
			}
			b, err := fs.ReadFile(mem, p)
			require.NoError(t, err)
			f, err := out.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
			require.NoError(t, err)
			_, err = f.Write(b)
			require.NoError(t, err)
			require.NoError(t, f.Sync())
			require.NoError(t, f.Close())
		}
		require.NoError(t, out.SyncDir(dir))
	}
	copyDir("/data")
	require.NoError(t, out.SyncDir("/"))
	return out
}

// TestCleanMatchesModel is the property test: random produce sequences with
// repeated keys and tombstones, compacted by the storage (several passes,
// bounded or not, with and without tombstone expiry, with retention in
// between as cleanup.policy=compact,delete does), read back equal to the
// model's compaction of the same sequence.
func TestCleanMatchesModel(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 9))
	rounds := 60
	if testing.Short() {
		rounds = 10
	}
	passes := 0
	for round := range rounds {
		what := fmt.Sprintf("seed %d round %d", seed, round)
		mem := fs.NewMem()
		cfg := Config{SegmentBytes: int64(300 + r.IntN(1500)), IndexIntervalBytes: 1 + r.IntN(300)}
		l := openLog(t, mem, cfg, nil)
		m := model.New()
		require.Equal(t, model.None, m.CreateTopic("t", 1))
		keys := 1 + r.IntN(12)
		value := 0
		for step := range 20 + r.IntN(60) {
			switch n := r.IntN(20); {
			case n < 14: // produce a batch
				var recs []kv
				var mrecs []model.Record
				for range 1 + r.IntN(5) {
					k := fmt.Sprintf("key-%d", r.IntN(keys))
					if r.IntN(6) == 0 {
						recs = append(recs, tomb(k))
						mrecs = append(mrecs, model.Record{Key: k, Tombstone: true})
					} else {
						v := fmt.Sprintf("v%d%s", value, strings.Repeat("-", r.IntN(20)))
						value++
						recs = append(recs, rec(k, v))
						mrecs = append(mrecs, model.Record{Key: k, Value: v})
					}
				}
				info := mustAppend(t, l, keyedBatch(t, int8(r.IntN(5)), int64(step), recs...), 0)
				resp := m.Produce(model.ProduceRequest{Topic: "t", Records: mrecs, ProducerID: -1})
				require.Equal(t, resp.BaseOffset, info.FirstOffset, what)
			case n < 16:
				require.NoError(t, l.Sync())
			case n < 19: // a compaction pass
				drop := r.IntN(2) == 0
				o := forced(drop)
				if r.IntN(3) == 0 {
					o.MaxMapBytes = 1 // one dirty segment per pass
				}
				res, err := l.Clean(o)
				require.NoError(t, err, what)
				if res.Ran {
					passes++
					require.Equal(t, model.None, m.Compact("t", 0, res.End, drop))
				}
			default: // retention.bytes
				require.NoError(t, l.Sync())
				_, err := l.DeleteRetained(time.Now(), Retention{Ms: -1, Bytes: int64(r.IntN(3000)), HighWatermark: l.LogEndOffset()})
				require.NoError(t, err, what)
				_, code := m.DeleteRecords("t", 0, l.LogStartOffset())
				require.Equal(t, model.None, code)
			}
		}
		f := m.Fetch(model.FetchRequest{Topic: "t", Partition: 0, Offset: l.LogStartOffset()})
		require.Equal(t, model.None, f.Err, what)
		require.Equal(t, f.Records, nilIfEmpty(toModel(logRecords(t, l))), what)
		require.Equal(t, f.HighWatermark, l.LogEndOffset(), what)
		requireContiguous(t, l)
		// And after a restart.
		require.NoError(t, l.Close())
		l = openLog(t, mem, cfg, nil)
		require.Equal(t, f.Records, nilIfEmpty(toModel(logRecords(t, l))), what)
		require.NoError(t, l.Close())
	}
	t.Logf("%d compaction passes compared with the model", passes)
	require.Positive(t, passes)
}

func nilIfEmpty(rs []model.Record) []model.Record {
	if len(rs) == 0 {
		return nil
	}
	return rs
}
