//go:build failpoints

package chaos_test

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ordo-broker/ordo/broker"
	"github.com/ordo-broker/ordo/broker/ordotest"
	lin "github.com/ordo-broker/ordo/linearizability"
	"github.com/ordo-broker/ordo/linearizability/workload"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestGroupCoordinatorRestart: the GROUP workload (three members of one
// group, one replaced every ~300 ms, committing after every poll, beside
// producers and a reader) while the broker — the group coordinator —
// restarts twice during the load (3 s at least), at times the seed picks.
// Members lose their coordinator in the middle of rebalances and commits;
// the coordinator reloads groups and committed offsets from
// __consumer_offsets. Acknowledged commits must survive: no group-rewind,
// no committed-offset-regression, porcupine's register linearizable, and
// every other check passes. The balancer alternates with the seed. (Run
// with the failpoints tag like the rest of chaos/, though it enables no
// failpoint: b.Restart is the fault.)
func TestGroupCoordinatorRestart(t *testing.T) {
	s := seed(t)
	balancer := workload.BalancerRange
	if s%2 == 0 {
		balancer = workload.BalancerCooperativeSticky
	}
	t.Logf("seed %d, %s (replay the client schedule with ORDO_SEED=%d)", s, balancer, s)
	b := ordotest.Start(t, ordotest.WithConfig(func(c *broker.Config) {
		c.GroupInitialRebalanceDelay = 0
		c.OffsetsTopicPartitions = 4
		c.GroupMinSessionTimeout = 500 * time.Millisecond
	}))
	// Long enough for the group to recover from both restarts and move
	// partitions again after them.
	d := max(loadDuration(t), 3*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second+2*d)
	defer cancel()

	restarts := 0
	res, err := workload.Run(ctx, workload.Config{
		Brokers: []string{b.Addr()}, Topic: "group-restart", Partitions: 4,
		Producers: 2, Readers: 1, Duration: d, Seed: s,
		// A short session: the coordinator does not persist that a member
		// left while a rebalance was in progress (nor does Kafka's), so
		// after a restart the rebalance waits for that member's session
		// to end.
		Group: &workload.GroupConfig{Members: 3, Balancer: balancer, Churn: 300 * time.Millisecond,
			SessionTimeout: time.Second, RebalanceTimeout: 3 * time.Second},
		// Reconnect quickly after the restart (see run in planted_test.go).
		ClientOpts: []kgo.Opt{kgo.MetadataMinAge(50 * time.Millisecond)},
		Nemesis: func(stopped func() bool, rng *rand.Rand, fault func(string) func()) {
			start := time.Now()
			// Two restarts, the second with a good third of the load
			// phase after it.
			for _, at := range []float64{0.1 + 0.25*rng.Float64(), 0.4 + 0.2*rng.Float64()} {
				for time.Since(start) < time.Duration(at*float64(d)) {
					if stopped() {
						return
					}
					time.Sleep(5 * time.Millisecond)
				}
				end := fault("restart the broker (the group coordinator reloads)")
				b.Restart()
				end()
				restarts++
			}
		},
	})
	h := res.History
	name := "ordo-chaos-" + t.Name() + "-" + strconv.FormatInt(s, 10)
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
	require.NoError(t, err)
	require.Equal(t, 2, restarts, "both restarts happened during the load")

	kinds := map[lin.Kind]int{}
	outcomes := map[lin.Outcome]int{}
	for _, op := range h {
		kinds[op.Kind]++
		if op.Kind == lin.KindCommit {
			outcomes[op.Outcome]++
		}
	}
	t.Logf("%d operations in %s: %v; commits %v", len(h), res.Elapsed, kinds, outcomes)
	for _, op := range h {
		if op.Kind == lin.KindFault {
			t.Logf("%s at %s for %s", op.Description, time.Duration(op.Call), time.Duration(op.Return-op.Call))
		}
	}
	require.Greater(t, kinds[lin.KindProduce], 200, "a quiet run proves nothing")
	require.Equal(t, 4, kinds[lin.KindDrain])

	rep := lin.Check(h, lin.Options{VisualizeDir: filepath.Join(os.TempDir(), name)})
	var sb strings.Builder
	rep.WriteSummary(&sb)
	summary := sb.String()
	if lines := strings.SplitAfter(summary, "\n"); len(lines) > 30 {
		summary = strings.Join(lines[:30], "")
	}
	t.Log("\n" + summary)
	require.Empty(t, rep.Invalid, "every partition was drained completely (verdict INVALID otherwise)")
	require.Empty(t, rep.Static.Notes)
	require.True(t, rep.OK(), "static %v, log %s, offsets %s", rep.Static.Counts, rep.Log.Result, rep.Offsets.Result)
	require.Positive(t, rep.Static.Group.Resumes, "members resumed from committed offsets")
	require.Greater(t, rep.Static.Group.MemberCommits, 50)
}
