package storage

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ordo-broker/ordo/broker/fs"
)

// TestLogsOverFileCacheBehaveTheSame is a metamorphic test of fs.FileCache
// under storage: the same random operations (appends, syncs, reads,
// timestamp lookups, truncations, log start moves, retention, compaction,
// clean restarts and crashes) run on partitions stored directly on a Mem
// and on partitions stored through a FileCache of 4 descriptors over
// another Mem, so that almost every file operation reopens a file the
// cache closed. Every answer must be the same. A crash may keep more on the
// cached side (a descriptor closed while dirty was fsynced first), so after
// one each side is checked against what it had synced, then both are cut to
// the shorter log and go on.
func TestLogsOverFileCacheBehaveTheSame(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s, err := strconv.ParseUint(os.Getenv("ORDO_SEED"), 10, 64); err == nil {
		seed = s
	}
	t.Logf("seed %d (ORDO_SEED=%d replays it)", seed, seed)
	r := rand.New(rand.NewPCG(seed, 3))
	cfg := Config{SegmentBytes: 700, IndexIntervalBytes: 100}
	const parts = 3
	dir := func(p int) string { return filepath.Join("/data", fmt.Sprintf("topic-%d", p)) }

	plainMem, cachedMem := fs.NewMem(), fs.NewMem()
	cache := fs.NewFileCache(cachedMem, 4)
	clock := newClock()
	open := func(fsys fs.FS, p int, clean bool) *Log {
		l, err := OpenWith(fsys, dir(p), cfg, Options{Now: clock.now, CleanShutdown: clean})
		require.NoError(t, err)
		return l
	}
	var plain, cached [parts]*Log
	for p := range parts {
		plain[p], cached[p] = open(plainMem, p, false), open(cache, p, false)
	}
	same := func(what string, a, b any) {
		t.Helper()
		require.Equal(t, a, b, "%s (seed %d)", what, seed)
	}
	epoch := int32(0)
	for step := range 600 {
		p := r.IntN(parts)
		a, b := plain[p], cached[p]
		what := fmt.Sprintf("step %d, partition %d", step, p)
		switch op := r.IntN(100); {
		case op < 40:
			var recs []kv
			for i := range 1 + r.IntN(4) {
				k := fmt.Sprintf("k%d", r.IntN(6))
				if r.IntN(8) == 0 {
					recs = append(recs, tomb(k))
				} else {
					recs = append(recs, rec(k, fmt.Sprintf("v%d-%d", step, i)))
				}
			}
			batch := keyedBatch(t, int8(2*r.IntN(2)), clock.now().UnixMilli()+int64(r.IntN(1000)), recs...)
			if r.IntN(20) == 0 {
				epoch++
			}
			ia, erra := a.Append(batch, epoch, -1)
			ib, errb := b.Append(batch, epoch, -1)
			same(what+": append", erra, errb)
			same(what+": append", ia, ib)
		case op < 50:
			require.NoError(t, a.Sync())
			require.NoError(t, b.Sync())
			same(what+": synced offset", a.SyncedOffset(), b.SyncedOffset())
		case op < 75:
			start, end := a.LogStartOffset(), a.LogEndOffset()
			off := start + r.Int64N(end-start+1)
			maxBytes, minOne := 1+r.IntN(2000), r.IntN(2) == 0
			ra, erra := a.Read(off, end, maxBytes, minOne)
			rb, errb := b.Read(off, end, maxBytes, minOne)
			same(what+": read error", erra, errb)
			same(what+": read", ra, rb)
		case op < 80:
			ts := clock.now().UnixMilli() + int64(r.IntN(1000))
			oa, ta, fa, erra := a.OffsetForTimestamp(ts)
			ob, tb, fb, errb := b.OffsetForTimestamp(ts)
			same(what+": offset for timestamp", []any{oa, ta, fa, erra}, []any{ob, tb, fb, errb})
			ma, moa, erra := a.MaxTimestamp()
			mb, mob, errb := b.MaxTimestamp()
			same(what+": max timestamp", []any{ma, moa, erra}, []any{mb, mob, errb})
		case op < 84:
			// To a batch boundary, as a follower truncates: inside a
			// batch the cut falls before the batch.
			batches, _ := logBatches(t, a)
			to := a.LogEndOffset()
			if len(batches) > 0 {
				to = batches[r.IntN(len(batches))].LastOffset() + 1
			}
			same(what+": truncate", a.Truncate(to), b.Truncate(to))
		case op < 86:
			start, end := a.LogStartOffset(), a.LogEndOffset()
			to := start + r.Int64N(end-start+1)
			same(what+": log start", a.SetLogStartOffset(to), b.SetLogStartOffset(to))
		case op < 88:
			ret := Retention{Ms: -1, Bytes: 1500, HighWatermark: a.LogEndOffset()}
			ra, erra := a.DeleteRetained(clock.now(), ret)
			rb, errb := b.DeleteRetained(clock.now(), ret)
			same(what+": retention", []any{ra, erra}, []any{rb, errb})
		case op < 92:
			require.NoError(t, a.Sync())
			require.NoError(t, b.Sync())
			opts := CleanOptions{HighWatermark: a.LogEndOffset(), Force: true, DeleteRetentionMs: 10}
			ca, erra := a.Clean(opts)
			cb, errb := b.Clean(opts)
			same(what+": clean", []any{ca, erra}, []any{cb, errb})
		case op < 96:
			require.NoError(t, a.Close())
			require.NoError(t, b.Close())
			plain[p], cached[p] = open(plainMem, p, true), open(cache, p, true)
			same(what+": clean restart", plain[p].Recovery().CleanShutdown, cached[p].Recovery().CleanShutdown)
		default:
			// Power loss. The cached side may keep more than the plain
			// side would (a descriptor closed while dirty was fsynced
			// first), so it is checked on its own: it keeps what it
			// synced and nothing it did not have. Then the plain side
			// restarts from a copy of its disk, and the two go on.
			var before [parts][]byte
			var synced [parts]int64
			for q := range parts {
				before[q] = logBytes(t, cached[q])
				synced[q] = cached[q].SyncedOffset()
				same(what+": synced before the crash", plain[q].SyncedOffset(), synced[q])
			}
			cachedMem.Crash(fs.CrashOptions{})
			cache = fs.NewFileCache(cachedMem, 4) // the restarted process's
			plainMem = cloneMem(t, cachedMem)
			for q := range parts {
				plain[q], cached[q] = open(plainMem, q, false), open(cache, q, false)
				got := logBytes(t, cached[q])
				require.True(t, bytes.Equal(before[q][:len(got)], got), "%s: the cached side kept a prefix (seed %d)", what, seed)
				require.GreaterOrEqual(t, cached[q].LogEndOffset(), synced[q], "%s: the cached side kept what it synced (seed %d)", what, seed)
				require.True(t, bytes.Equal(logBytes(t, plain[q]), got), "%s: after the crash (seed %d)", what, seed)
			}
		}
		a, b = plain[p], cached[p]
		same(what+": log start", a.LogStartOffset(), b.LogStartOffset())
		same(what+": log end", a.LogEndOffset(), b.LogEndOffset())
		require.LessOrEqual(t, cache.Stats().Open, 4, "%s: descriptors", what)
		clock.advance(time.Duration(r.IntN(50)) * time.Millisecond)
	}
	for p := range parts {
		require.True(t, bytes.Equal(logBytes(t, plain[p]), logBytes(t, cached[p])), "final contents (seed %d)", seed)
		require.NoError(t, plain[p].Close())
		require.NoError(t, cached[p].Close())
	}
	s := cache.Stats()
	t.Logf("cache: %+v", s)
	require.Equal(t, 0, s.Open)
	require.Greater(t, s.Reopens, uint64(10), "the cache reopened files")
}

// logBytes is every batch from the log start offset on, checked as stored
// batches (a compacted log has gaps and empty batches).
func logBytes(t testing.TB, l *Log) []byte {
	t.Helper()
	_, b := logBatches(t, l)
	return b
}
