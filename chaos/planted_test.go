//go:build failpoints

package chaos_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/ordo-broker/ordo/broker/failpoints"
	"github.com/ordo-broker/ordo/broker/ordotest"
	lin "github.com/ordo-broker/ordo/linearizability"
	"github.com/ordo-broker/ordo/linearizability/workload"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestMain fails the run when GO_FAILPOINTS enabled a point that never
// fired (the points tests enable themselves are checked by Enable).
func TestMain(m *testing.M) {
	code := m.Run()
	if silent := failpoints.UnfiredFromEnv(); len(silent) > 0 {
		fmt.Fprintf(os.Stderr, "GO_FAILPOINTS enabled points that never fired: %v\n", silent)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// fault is one failpoint switched on during the load phase.
type fault struct {
	name failpoints.Name
	term string
}

// seed is ORDO_SEED when set (to replay a run's client schedule), the
// clock otherwise. Percentage terms draw from failpoint's own random
// source, which the seed does not replay.
func seed(t *testing.T) int64 {
	if s := os.Getenv("ORDO_SEED"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		require.NoError(t, err)
		return n
	}
	return time.Now().UnixNano()
}

// loadDuration is ORDO_CHAOS_DURATION (a Go duration), 2 s otherwise.
func loadDuration(t *testing.T) time.Duration {
	if s := os.Getenv("ORDO_CHAOS_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		require.NoError(t, err)
		return d
	}
	return 2 * time.Second
}

// run starts a broker, enables faults, runs the LOG+LIN workload (4
// producers, 2 consumers, 2 linearizable readers over 4 partitions),
// heals the faults before the final drain, requires every fault to have
// fired and the run to have carried enough traffic, and checks the
// history with both checkers. The history is saved under the temp
// directory when the test fails.
func run(t *testing.T, visualize bool, faults ...fault) lin.Report {
	t.Helper()
	s := seed(t)
	t.Logf("seed %d (replay the client schedule with ORDO_SEED=%d)", s, s)
	b := ordotest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second+2*loadDuration(t))
	defer cancel()

	for _, f := range faults {
		failpoints.Enable(t, f.name, f.term)
	}
	name := "ordo-chaos-" + strings.ReplaceAll(t.Name(), "/", "-") + "-" + strconv.FormatInt(s, 10)
	res, err := workload.Run(ctx, workload.Config{
		Brokers: []string{b.Addr()}, Topic: "chaos", Partitions: 4,
		Producers: 4, Consumers: 2, Readers: 2, Duration: loadDuration(t), Seed: s,
		// kgo refreshes metadata before retrying on a connection that
		// closed right after a request, at most every MetadataMinAge (5 s
		// by default): dropped responses would stall producers for
		// seconds and leave a quiet run.
		ClientOpts: []kgo.Opt{kgo.MetadataMinAge(50 * time.Millisecond)},
		BeforeDrain: func() {
			for _, f := range faults {
				failpoints.Disable(f.name)
			}
		},
	})
	keepHistoryOnFailure(t, name, res.History)
	require.NoError(t, err)
	for _, f := range faults {
		t.Logf("%s fired %d times", f.name, failpoints.Fired(f.name))
		failpoints.RequireFired(t, f.name)
	}
	return check(t, name, res, visualize)
}

// keepHistoryOnFailure saves h under the temp directory if the test fails.
func keepHistoryOnFailure(t *testing.T, name string, h lin.History) {
	t.Cleanup(func() {
		if t.Failed() && len(h) > 0 {
			path := filepath.Join(os.TempDir(), name+".jsonl")
			if f, err := os.Create(path); err == nil {
				_ = lin.WriteHistory(f, h)
				_ = f.Close()
				t.Logf("history kept at %s (ordo-check %s)", path, path)
			}
		}
	})
}

// check requires the run to have carried enough traffic and checks its
// history with both checkers (porcupine's visualization under the temp
// directory with visualize).
func check(t *testing.T, name string, res workload.Result, visualize bool) lin.Report {
	t.Helper()
	h := res.History
	kinds := map[lin.Kind]int{}
	for _, op := range h {
		kinds[op.Kind]++
	}
	t.Logf("%d operations in %s (%.0f ops/s): %v", len(h), res.Elapsed, float64(len(h))/res.Elapsed.Seconds(), kinds)
	require.Greater(t, kinds[lin.KindProduce], 200, "a quiet run proves nothing")
	require.Greater(t, kinds[lin.KindListOffsets], 20)
	require.Greater(t, kinds[lin.KindFetch], 20)
	require.Equal(t, 4, kinds[lin.KindDrain])

	opts := lin.Options{}
	if visualize {
		opts.VisualizeDir = filepath.Join(os.TempDir(), name)
	}
	rep := lin.Check(h, opts)
	var sb strings.Builder
	rep.WriteSummary(&sb)
	summary := sb.String()
	if lines := strings.SplitAfter(summary, "\n"); len(lines) > 30 {
		summary = strings.Join(lines[:30], "") + fmt.Sprintf("... (%d more lines)\n", len(lines)-30)
	}
	t.Log("\n" + summary)
	return rep
}

// requirePass: a correct broker passes both checkers, with every
// partition drained completely.
func requirePass(t *testing.T, rep lin.Report) {
	t.Helper()
	require.Empty(t, rep.Invalid, "every partition was drained completely (verdict INVALID otherwise)")
	require.Empty(t, rep.Static.Notes)
	require.True(t, rep.OK(), "static %v, log %s, offsets %s", rep.Static.Counts, rep.Log.Result, rep.Offsets.Result)
}

// TestNoFaults: the broker built with failpoints compiled in, none
// enabled, passes. This is the control for every planted bug below.
func TestNoFaults(t *testing.T) {
	requirePass(t, run(t, true))
}

// TestDroppedProduceResponses: one produce response in twenty lost after
// the commit (ambiguous acks). kgo's idempotent producer retries; the broker must answer each
// retry with the original offsets, so the history stays clean.
func TestDroppedProduceResponses(t *testing.T) {
	requirePass(t, run(t, true, fault{failpoints.ProduceDropResponse, "5%return(true)"}))
}

// TestSlowFsync: fsyncs stalled by 10 ms one time in five change timing,
// not results.
func TestSlowFsync(t *testing.T) {
	requirePass(t, run(t, true, fault{failpoints.BeforeFsync, "20%sleep(10)"}))
}

// The planted bugs of issue 4: each must make the check fail with the
// anomaly it causes. A checker that has never failed proves nothing.

// TestPlantedAckWithoutAppend: one produce in ten is acknowledged at the
// log end offset but never written; the next append takes that offset.
// The acknowledged value is never read although later offsets are:
// lost-write; and its offset holds another value: inconsistent-offsets.
func TestPlantedAckWithoutAppend(t *testing.T) {
	rep := run(t, false, fault{failpoints.AckWithoutAppend, "10%return(true)"})
	require.Equal(t, lin.VerdictFail, rep.Verdict(), "a planted bug fails the run (not merely INVALID)")
	require.Positive(t, rep.Static.Counts[lin.LostWrite], "lost-write: %v", rep.Static.Counts)
	require.Positive(t, rep.Static.Counts[lin.InconsistentOffsets], "inconsistent-offsets: %v", rep.Static.Counts)
}

// TestPlantedStaleHighWatermark: ListOffsets latest answers the high
// watermark minus 3. Every value read is right, so the static checker
// passes; porcupine sees reads that miss writes acknowledged before they
// began: not linearizable.
func TestPlantedStaleHighWatermark(t *testing.T) {
	rep := run(t, false, fault{failpoints.StaleHighWatermark, "return(3)"})
	require.True(t, rep.Static.OK(), "content is intact: %v", rep.Static.Counts)
	require.Equal(t, porcupine.Illegal, rep.Log.Result, "a stale high watermark is not linearizable")
}

// TestPlantedSkipIdempotenceCheck: with responses dropped after commit,
// kgo retries; the broker appends every retry again instead of answering
// it with the original offsets: duplicate (one value at two offsets).
func TestPlantedSkipIdempotenceCheck(t *testing.T) {
	rep := run(t, false,
		fault{failpoints.ProduceDropResponse, "5%return(true)"},
		fault{failpoints.SkipIdempotenceCheck, "return(true)"})
	require.Equal(t, lin.VerdictFail, rep.Verdict(), "a planted bug fails the run (not merely INVALID)")
	require.Positive(t, rep.Static.Counts[lin.Duplicate], "duplicate: %v", rep.Static.Counts)
}

// TestPlantedReuseOffsets: one produce in ten is answered with the offset
// of the batch appended before it, so two acknowledged values claim one
// offset: inconsistent-offsets (and, as the value is also read where it
// really is, duplicate).
func TestPlantedReuseOffsets(t *testing.T) {
	rep := run(t, false, fault{failpoints.ReuseOffsets, "10%return(true)"})
	require.Equal(t, lin.VerdictFail, rep.Verdict(), "a planted bug fails the run (not merely INVALID)")
	require.Positive(t, rep.Static.Counts[lin.InconsistentOffsets], "inconsistent-offsets: %v", rep.Static.Counts)
}
