package workload_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/ordo-broker/ordo/broker/ordotest"
	lin "github.com/ordo-broker/ordo/linearizability"
	"github.com/ordo-broker/ordo/linearizability/workload"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
)

// seed is ORDO_SEED when set (to replay a run), the clock otherwise.
func seed(t *testing.T) int64 {
	if s := os.Getenv("ORDO_SEED"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		require.NoError(t, err)
		return n
	}
	return time.Now().UnixNano()
}

// workloadDuration is ORDO_WORKLOAD_DURATION (a Go duration; `make chaos`
// sets a long one), 3 s otherwise.
func workloadDuration(t *testing.T) time.Duration {
	if s := os.Getenv("ORDO_WORKLOAD_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		require.NoError(t, err)
		return d
	}
	return 3 * time.Second
}

// TestLiveWorkload runs producers, consumers and linearizable readers
// against a real broker for a few seconds, drains it, and holds the
// recorded history to both checkers: a correct broker must pass. Then it
// plants a fault in the recorded history to show the same run would fail.
func TestLiveWorkload(t *testing.T) {
	if testing.Short() {
		t.Skip("live workload: a few seconds of load against a broker")
	}
	s := seed(t)
	t.Logf("seed %d (replay with ORDO_SEED=%d)", s, s)
	b := ordotest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second+2*workloadDuration(t))
	defer cancel()

	commits, err := workload.GroupOffsetsSupported(ctx, []string{b.Addr()})
	require.NoError(t, err)
	if !commits {
		t.Log("the broker serves no group offsets yet (issue 3): the workload runs without commits")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "history.jsonl")
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()

	res, err := workload.Run(ctx, workload.Config{
		Brokers: []string{b.Addr()}, Topic: "workload", Partitions: 4,
		Producers: 4, Consumers: 2, Readers: 2, Duration: workloadDuration(t),
		Seed: s, Commits: commits, History: f,
		Enough: atLeast(map[lin.Kind]int{lin.KindProduce: 300, lin.KindPoll: 30, lin.KindListOffsets: 30, lin.KindFetch: 30}),
	})
	require.NoError(t, err)
	h := res.History
	kinds := map[lin.Kind]int{}
	outcomes := map[lin.Outcome]int{}
	for _, op := range h {
		kinds[op.Kind]++
		outcomes[op.Outcome]++
	}
	t.Logf("%d operations in %s (%.0f ops/s): %v, outcomes %v", len(h), res.Elapsed, float64(len(h))/res.Elapsed.Seconds(), kinds, outcomes)
	require.Greater(t, kinds[lin.KindProduce], 200, "enough traffic to mean something")
	require.Greater(t, kinds[lin.KindPoll], 20)
	require.Greater(t, kinds[lin.KindListOffsets], 20)
	require.Greater(t, kinds[lin.KindFetch], 20)
	require.Equal(t, 4, kinds[lin.KindDrain])

	// The saved history is the one in memory.
	back, err := lin.ReadHistoryFile(path)
	require.NoError(t, err)
	require.Equal(t, h, back)

	visual := filepath.Join(os.TempDir(), "ordo-workload-"+strconv.FormatInt(s, 10))
	// Porcupine's search grows faster than the history: a long `make
	// chaos` run gets a longer bound than the default.
	rep := lin.Check(h, lin.Options{VisualizeDir: visual, Timeout: max(lin.DefaultTimeout, 5*workloadDuration(t))})
	var sb strings.Builder
	rep.WriteSummary(&sb)
	t.Log("\n" + sb.String())
	require.Empty(t, rep.Invalid, "every partition was drained completely (verdict INVALID otherwise)")
	require.Empty(t, rep.Static.Notes)
	require.True(t, rep.OK(), "history kept at %s", path)
	require.Greater(t, rep.Log.Ops, 500)

	// The same history with one fault planted fails: a latest-offsets read
	// that answers 0 after an acknowledged write (a stale high watermark),
	// and a drain that lost one record.
	stale := plant(t, h, func(op *lin.Op) bool {
		return op.Kind == lin.KindListOffsets && op.Spec == lin.SpecLatest && op.Outcome == lin.OK && op.Offset > 0 && !acknowledgedBefore(h, op)
	}, func(op *lin.Op) { op.Offset = 0 })
	rep = lin.Check(stale, lin.Options{})
	require.True(t, rep.Static.OK())
	require.Equal(t, porcupine.Illegal, rep.Log.Result, "a stale high watermark is caught")

	lost := plant(t, h, func(op *lin.Op) bool { return op.Drain && op.Kind == lin.KindFetch && len(op.Records) > 2 },
		func(op *lin.Op) { op.Records = append(op.Records[:1:1], op.Records[2:]...) })
	rep = lin.Check(lost, lin.Options{})
	require.False(t, rep.Static.OK(), "a record missing from the drain is caught")
	t.Logf("planted drain loss: %v", rep.Static.Counts)
}

// atLeast is a workload.Config.Enough: at least min[k] operations of each
// kind k. A quiet run proves nothing, and on a loaded machine a fixed
// duration may not bring enough traffic.
func atLeast(min map[lin.Kind]int) func(lin.History) bool {
	return func(h lin.History) bool {
		got := map[lin.Kind]int{}
		for _, op := range h {
			got[op.Kind]++
		}
		for k, n := range min {
			if got[k] < n {
				return false
			}
		}
		return true
	}
}

// acknowledgedBefore is false for reads with no acknowledged produce of
// their partition before them: planting 0 there would be legal. It returns
// true when the read is a good place to plant (named for the filter).
func acknowledgedBefore(h lin.History, read *lin.Op) bool {
	for _, w := range h {
		if w.Kind == lin.KindProduce && w.Outcome == lin.OK && w.Topic == read.Topic && w.Partition == read.Partition && w.Return < read.Call {
			return false
		}
	}
	return true
}

// plant copies h and changes the first operation that matches.
func plant(t *testing.T, h lin.History, match func(*lin.Op) bool, change func(*lin.Op)) lin.History {
	t.Helper()
	out := make(lin.History, len(h))
	copy(out, h)
	for i := range out {
		if match(&out[i]) {
			out[i].Records = append([]lin.Record(nil), out[i].Records...)
			change(&out[i])
			return out
		}
	}
	t.Fatal("nothing to plant the fault in")
	return nil
}

// TestWorkloadWithCommits runs the workload with administrative offset
// commits against franz-go's kfake cluster: the committed-offset checkers
// on a history from another implementation (Ordo's groups are in
// group_test.go).
func TestWorkloadWithCommits(t *testing.T) {
	if testing.Short() {
		t.Skip("live workload")
	}
	s := seed(t)
	t.Logf("seed %d (replay with ORDO_SEED=%d)", s, s)
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	require.NoError(t, err)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	supported, err := workload.GroupOffsetsSupported(ctx, c.ListenAddrs())
	require.NoError(t, err)
	require.True(t, supported)
	res, err := workload.Run(ctx, workload.Config{Brokers: c.ListenAddrs(), Topic: "commits", Partitions: 2,
		Producers: 2, Consumers: 2, Readers: 1, Duration: time.Second, Seed: s, Commits: true,
		Enough: func(h lin.History) bool {
			n := 0
			for _, op := range h {
				if (op.Kind == lin.KindCommit || op.Kind == lin.KindFetchOffset) && op.Outcome == lin.OK {
					n++
				}
			}
			return n > 30
		}})
	require.NoError(t, err)
	rep := lin.Check(res.History, lin.Options{})
	var sb strings.Builder
	rep.WriteSummary(&sb)
	t.Log("\n" + sb.String())
	require.True(t, rep.OK())
	require.Greater(t, rep.Offsets.Ops, 20)
}
