package workload_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
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

// groupDuration is ORDO_WORKLOAD_DURATION split over the two balancers,
// 1.5 s each otherwise.
func groupDuration(t *testing.T) time.Duration {
	if os.Getenv("ORDO_WORKLOAD_DURATION") != "" {
		return workloadDuration(t) / 2
	}
	return 1500 * time.Millisecond
}

// TestLiveGroupWorkload runs the GROUP workload against a real broker,
// once per balancer: three members of one group, one replaced every
// ~300 ms, committing after every poll while producers write and a reader
// reads, then the final drain. Both checkers must pass, and the history
// must show the group at work: several generations, assignments and
// revocations, members' offset fetches and acknowledged commits. A
// planted stale generation then shows the same history would fail.
func TestLiveGroupWorkload(t *testing.T) {
	if testing.Short() {
		t.Skip("live workload: a few seconds of load against a broker")
	}
	for _, balancer := range []string{workload.BalancerCooperativeSticky, workload.BalancerRange} {
		t.Run(balancer, func(t *testing.T) {
			s := seed(t)
			t.Logf("seed %d (replay with ORDO_SEED=%d)", s, s)
			b := ordotest.Start(t, ordotest.WithConfig(func(c *broker.Config) {
				c.GroupInitialRebalanceDelay = 0
				c.OffsetsTopicPartitions = 4
			}))
			d := groupDuration(t)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second+2*d)
			defer cancel()
			path := filepath.Join(t.TempDir(), "history.jsonl")
			f, err := os.Create(path)
			require.NoError(t, err)
			defer f.Close()

			res, err := workload.Run(ctx, workload.Config{
				Brokers: []string{b.Addr()}, Topic: "group", Partitions: 4,
				Producers: 2, Readers: 1, Duration: d, Seed: s, History: f,
				Group:  &workload.GroupConfig{Members: 3, Balancer: balancer, Churn: 300 * time.Millisecond},
				Enough: groupAtWork,
			})
			require.NoError(t, err)
			h := res.History
			kinds := map[lin.Kind]int{}
			gens := map[int32]bool{}
			members := map[int]bool{}
			var memberFetches, memberCommits, lost int
			for _, op := range h {
				kinds[op.Kind]++
				switch op.Kind {
				case lin.KindAssign:
					gens[op.Generation] = true
					members[op.Client] = true
				case lin.KindRevoke:
					if op.Lost {
						lost++
					}
				case lin.KindFetchOffset:
					if op.Member != "" {
						memberFetches++
					}
				case lin.KindCommit:
					if op.Outcome == lin.OK && op.Generation > 0 {
						memberCommits++
					}
				}
			}
			t.Logf("%d operations in %s: %v; %d members, %d generations, %d member offset fetches, %d acknowledged member commits, %d lost",
				len(h), res.Elapsed, kinds, len(members), len(gens), memberFetches, memberCommits, lost)
			require.Greater(t, kinds[lin.KindProduce], 200, "enough traffic to mean something")
			require.GreaterOrEqual(t, len(members), 4, "members joined during the run")
			require.GreaterOrEqual(t, len(gens), 3, "the group rebalanced during the run")
			require.Greater(t, kinds[lin.KindRevoke], 3)
			require.Greater(t, memberFetches, 3)
			require.Greater(t, memberCommits, 50)
			require.Equal(t, 4, kinds[lin.KindDrain])

			back, err := lin.ReadHistoryFile(path)
			require.NoError(t, err)
			require.Equal(t, h, back)

			visual := filepath.Join(os.TempDir(), "ordo-group-workload-"+strconv.FormatInt(s, 10))
			rep := lin.Check(h, lin.Options{VisualizeDir: visual, Timeout: max(lin.DefaultTimeout, 10*d)})
			var sb strings.Builder
			rep.WriteSummary(&sb)
			t.Log("\n" + sb.String())
			require.Empty(t, rep.Invalid, "every partition was drained completely (verdict INVALID otherwise)")
			require.Empty(t, rep.Static.Notes)
			require.True(t, rep.OK(), "history kept at %s", path)
			require.Greater(t, rep.Offsets.Ops, 100)
			judged := rep.Static.Group
			require.Equal(t, len(members), judged.Members)
			require.Equal(t, memberCommits, judged.MemberCommits)
			require.GreaterOrEqual(t, judged.Resumes, 2, "members resumed from committed offsets")
			require.Positive(t, judged.Handovers, "partitions moved between members")

			// Plant a stale generation: the last acknowledged member commit
			// claims generation 1, long after later generations formed.
			stale := append(lin.History(nil), h...)
			for i := len(stale) - 1; i >= 0; i-- {
				if op := &stale[i]; op.Kind == lin.KindCommit && op.Outcome == lin.OK && op.Generation > 1 {
					op.Generation = 1
					break
				}
			}
			rep = lin.Check(stale, lin.Options{})
			require.Equal(t, map[string]int{lin.ZombieCommit: 1}, rep.Static.Counts)
		})
	}
}

// TestLiveGroupRewindIsCaught plants a client bug in a live GROUP run:
// every member starts two records before the committed offset it fetched
// (kgo's AdjustFetchOffsetsFn), as a consumer that ignored its group's
// commits would. Content stays intact (the same values at the same
// offsets), so only group-rewind may fire, and it must.
func TestLiveGroupRewindIsCaught(t *testing.T) {
	if testing.Short() {
		t.Skip("live workload")
	}
	s := seed(t)
	t.Logf("seed %d (replay with ORDO_SEED=%d)", s, s)
	b := ordotest.Start(t, ordotest.WithConfig(func(c *broker.Config) {
		c.GroupInitialRebalanceDelay = 0
		c.OffsetsTopicPartitions = 4
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rewind := kgo.AdjustFetchOffsetsFn(func(_ context.Context, fetched map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
		for _, ps := range fetched {
			for p, o := range ps {
				if at := o.EpochOffset().Offset; at >= 2 {
					ps[p] = kgo.NewOffset().At(at - 2)
				}
			}
		}
		return fetched, nil
	})
	res, err := workload.Run(ctx, workload.Config{
		Brokers: []string{b.Addr()}, Topic: "rewind", Partitions: 4,
		Producers: 2, Readers: 1, Duration: 1500 * time.Millisecond, Seed: s,
		Group: &workload.GroupConfig{Members: 3, Balancer: workload.BalancerRange, Churn: 300 * time.Millisecond,
			MemberOpts: []kgo.Opt{rewind}},
	})
	require.NoError(t, err)
	rep := lin.Check(res.History, lin.Options{})
	var sb strings.Builder
	rep.WriteSummary(&sb)
	summary := sb.String()
	if lines := strings.SplitAfter(summary, "\n"); len(lines) > 20 {
		summary = strings.Join(lines[:20], "")
	}
	t.Log("\n" + summary)
	require.Positive(t, rep.Static.Counts[lin.GroupRewind], "group-rewind: %v", rep.Static.Counts)
	require.Equal(t, []string{lin.GroupRewind}, sortedNames(rep.Static.Counts))
	require.True(t, rep.Log.OK())
	require.True(t, rep.Offsets.OK(), "the broker's committed offsets are right")
}

// groupAtWork is a workload.Config.Enough for the GROUP workload: the
// traffic and the group activity TestLiveGroupWorkload requires, with a
// margin.
func groupAtWork(h lin.History) bool {
	var produces, revokes, memberFetches, memberCommits, registerOps int
	members, gens := map[int]bool{}, map[int32]bool{}
	for _, op := range h {
		if (op.Kind == lin.KindCommit || op.Kind == lin.KindFetchOffset) && op.Outcome == lin.OK {
			registerOps++
		}
		switch op.Kind {
		case lin.KindProduce:
			produces++
		case lin.KindAssign:
			gens[op.Generation] = true
			members[op.Client] = true
		case lin.KindRevoke:
			revokes++
		case lin.KindFetchOffset:
			if op.Member != "" {
				memberFetches++
			}
		case lin.KindCommit:
			if op.Outcome == lin.OK && op.Generation > 0 {
				memberCommits++
			}
		}
	}
	return produces > 250 && len(members) >= 4 && len(gens) >= 3 && revokes > 3 && memberFetches > 3 && memberCommits > 60 &&
		registerOps > 120
}

func sortedNames(m map[string]int) []string {
	var out []string
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
