package linearizability

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/require"
)

// Porcupine owns real-time order: these histories have consistent content
// (the static pass finds nothing) but no linearization.
func TestPorcupineCatchesRealTimeViolations(t *testing.T) {
	cases := map[string]struct {
		ops     []Op
		offsets bool // the committed-offset check fails, not the log's
	}{
		// a0 was acknowledged before the read began; the read missed it.
		"stale latest offset": {ops: cat(prod(0, 0, 0, 10, "a0", 0), latest(1, 0, 20, 30, 0))},
		// A linearizable fetch reports an old high watermark.
		"stale leader fetch": {ops: cat(prod(0, 0, 0, 10, "a0", 0), prod(0, 0, 20, 30, "a1", 1),
			fetch(1, 0, 0, 40, 50, 1, rec(0, 0, "a0")))},
		// b landed before a although a was acknowledged before b was sent
		// (different producers, so no nonmonotonic-send).
		"offsets against real time": {ops: cat(prod(0, 0, 0, 10, "a", 1), prod(1, 0, 20, 30, "b", 0))},
		// An acknowledged write whose offset was handed out twice.
		"one offset acknowledged twice": {ops: cat(prod(0, 0, 0, 10, "a", 0), prod(1, 0, 0, 10, "b", 0))},
		// Committed 5, read 3: nobody committed 3.
		"committed offset from nowhere": {ops: cat(commit(0, 0, 10, 5, OK), fetchOffset(1, 20, 30, 3)), offsets: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			rep := Check(hist(tc.ops...), Options{VisualizeDir: dir})
			failed := rep.Log
			if tc.offsets {
				failed = rep.Offsets
			}
			require.False(t, rep.OK())
			require.Equal(t, porcupine.Illegal, failed.Result)
			require.NotEmpty(t, failed.Illegal)
			require.FileExists(t, failed.Visualization)
			require.Equal(t, filepath.Join(dir, failed.Name+".html"), failed.Visualization)
			var sb strings.Builder
			rep.WriteSummary(&sb)
			require.Contains(t, sb.String(), "not linearizable: "+failed.Illegal[0])
			t.Log(sb.String())
		})
	}
}

// The visualization carries faults and static anomalies as annotations.
func TestVisualizationHasAnnotations(t *testing.T) {
	dir := t.TempDir()
	ops := cat(prod(0, 0, 0, 10, "a0", 0), prodOutcome(0, 0, 20, 30, "x", Fail),
		Op{Client: 9, Kind: KindFault, Call: 15, Return: 25, Outcome: OK, Description: "planted fault"},
		latest(1, 0, 40, 50, 1), poll(1, 60, 70, rec(0, 0, "a0"), rec(0, 1, "x")))
	rep := Check(hist(ops...), Options{VisualizeDir: dir})
	require.Equal(t, []string{G1a}, names(rep.Static.Anomalies))
	// The failed write is visible: porcupine settles it as an append that
	// happened, so the real-time check itself passes.
	require.True(t, rep.Log.OK())
	// Force a log failure to get a file: a stale read.
	ops = append(ops, latest(1, 0, 80, 90, 0))
	rep = Check(hist(ops...), Options{VisualizeDir: dir})
	require.Equal(t, porcupine.Illegal, rep.Log.Result)
	html, err := os.ReadFile(rep.Log.Visualization)
	require.NoError(t, err)
	require.Contains(t, string(html), "planted fault")
	require.Contains(t, string(html), G1a)
}

// A check that times out fails the run and says so.
func TestPorcupineTimeoutFails(t *testing.T) {
	h := syntheticHistory(t, 42, 4000, 8, 16)
	rep := Check(h, Options{Timeout: time.Nanosecond})
	require.Equal(t, porcupine.Unknown, rep.Log.Result)
	require.False(t, rep.OK())
	var sb strings.Builder
	rep.WriteSummary(&sb)
	require.Contains(t, sb.String(), "timed out after 1ns")
}

// TestPorcupineLargeHistory checks a history of more than 10,000
// operations over 8 partitions and 16 clients, with indeterminate produces
// settled by the final drain, and notes the time (no timed assertion beyond
// the check's own timeout).
func TestPorcupineLargeHistory(t *testing.T) {
	h := syntheticHistory(t, 1, 13000, 8, 16)
	require.NoError(t, h.Validate())
	start := time.Now()
	rep := Check(h, Options{Timeout: DefaultTimeout})
	elapsed := time.Since(start)
	var sb strings.Builder
	rep.WriteSummary(&sb)
	t.Log(sb.String())
	require.True(t, rep.OK())
	require.GreaterOrEqual(t, rep.Log.Ops, 10000)
	require.Equal(t, 8, rep.Log.Partitions)
	require.Greater(t, rep.Offsets.Ops, 500)
	require.Greater(t, rep.Resolution.Resolved, 0)
	require.Greater(t, rep.Resolution.Dropped, 0)
	t.Logf("porcupine: %d log operations over %d partitions in %s (whole check incl. static pass %s; timeout %s)",
		rep.Log.Ops, rep.Log.Partitions, rep.Log.Elapsed, elapsed, DefaultTimeout)
}

// One stale read among ten thousand operations is found, in its partition.
func TestPorcupineLargeHistoryWithOneStaleRead(t *testing.T) {
	h := syntheticHistory(t, 2, 12000, 8, 16)
	// Answer 0 to a read that began after an acknowledged produce of its
	// partition had returned.
	planted := -1
	for i := len(h) / 2; i < len(h) && planted < 0; i++ {
		if h[i].Kind != KindListOffsets {
			continue
		}
		for _, w := range h {
			if w.Kind == KindProduce && w.Outcome == OK && w.tp() == h[i].tp() && w.Return < h[i].Call {
				h[i].Offset = 0
				planted = i
				break
			}
		}
	}
	require.GreaterOrEqual(t, planted, 0)
	rep := Check(h, Options{VisualizeDir: t.TempDir()})
	require.True(t, rep.Static.OK(), "content is fine")
	require.Equal(t, porcupine.Illegal, rep.Log.Result)
	require.Equal(t, []string{h[planted].tp().String()}, rep.Log.Illegal)
	t.Logf("stale read at op %d found in %s", planted, rep.Log.Elapsed)
}
