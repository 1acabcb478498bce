package workload

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/ordo-broker/ordo/linearizability/recorder"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The group balancers GroupConfig.Balancer names.
const (
	BalancerCooperativeSticky = "cooperative-sticky" // KIP-429: two rebalances, only moved partitions revoked
	BalancerRange             = "range"              // eager: every member revokes everything each rebalance
)

// GroupConfig is the GROUP workload: Members kgo consumers of one group
// (recorded with recorder.GroupClient, so every assignment, revocation,
// committed-offset fetch and commit is in the history) poll the topic and
// commit what each poll returned right after it (kgo's CommitRecords,
// before AllowRebalance: kgo.BlockRebalanceOnPoll keeps a rebalance from
// crossing a poll and its commit). Every Churn (jittered by the seed
// between half and one and a half times it) one member, chosen by the
// seed, closes (LeaveGroup) and a new one joins, so the group rebalances
// all run long. Zero fields take the defaults noted.
type GroupConfig struct {
	Name     string        // the group id (the topic + "-group")
	Members  int           // members at any time (3)
	Balancer string        // BalancerCooperativeSticky (default) or BalancerRange
	Churn    time.Duration // mean time between membership changes (2s); negative: none
	// ReadBackEvery: every n-th poll a member also reads its partitions'
	// committed offsets back (kadm OffsetFetch) for the register check
	// (4; negative: never).
	ReadBackEvery int
	// Session, heartbeat and rebalance timeouts of the members (6s,
	// 100ms, 10s): a short heartbeat lets members notice a rebalance
	// quickly.
	SessionTimeout    time.Duration
	HeartbeatInterval time.Duration
	RebalanceTimeout  time.Duration
	// MemberOpts are added to every member's options (after the
	// workload's own; the recorder's callbacks cannot be replaced).
	MemberOpts []kgo.Opt
}

func (g *GroupConfig) defaults(topic string) error {
	if g.Name == "" {
		g.Name = topic + "-group"
	}
	if g.Members == 0 {
		g.Members = 3
	}
	if g.Balancer == "" {
		g.Balancer = BalancerCooperativeSticky
	}
	if g.Balancer != BalancerCooperativeSticky && g.Balancer != BalancerRange {
		return fmt.Errorf("workload: unknown group balancer %q", g.Balancer)
	}
	if g.Churn == 0 {
		g.Churn = 2 * time.Second
	}
	if g.ReadBackEvery == 0 {
		g.ReadBackEvery = 4
	}
	if g.SessionTimeout == 0 {
		g.SessionTimeout = 6 * time.Second
	}
	if g.HeartbeatInterval == 0 {
		g.HeartbeatInterval = 100 * time.Millisecond
	}
	if g.RebalanceTimeout == 0 {
		g.RebalanceTimeout = 10 * time.Second
	}
	return nil
}

func (g *GroupConfig) balancer() kgo.GroupBalancer {
	if g.Balancer == BalancerRange {
		return kgo.RangeBalancer()
	}
	return kgo.CooperativeStickyBalancer()
}

// groupLoop keeps cfg.Group.Members members running, replacing one every
// churn period, until stopped; then every member leaves and it returns
// once all have closed (their revocations recorded).
func groupLoop(ctx context.Context, cfg Config, rec *recorder.Recorder, stopped func() bool, rng *rand.Rand) error {
	g := cfg.Group
	opts := clientOpts(cfg,
		kgo.ConsumeTopics(cfg.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.Balancers(g.balancer()),
		kgo.SessionTimeout(g.SessionTimeout),
		kgo.HeartbeatInterval(g.HeartbeatInterval),
		kgo.RebalanceTimeout(g.RebalanceTimeout),
		kgo.FetchMaxWait(100*time.Millisecond),
		kgo.BlockRebalanceOnPoll(),
	)
	opts = append(opts, g.MemberOpts...)
	var wg sync.WaitGroup
	defer wg.Wait()
	var live []chan struct{} // each member's leave signal
	defer func() {
		for _, leave := range live {
			close(leave)
		}
	}()
	join := func() error {
		c, err := rec.GroupClient(g.Name, opts...)
		if err != nil {
			return fmt.Errorf("group member: %w", err)
		}
		leave := make(chan struct{})
		live = append(live, leave)
		wg.Add(1)
		go func() {
			defer wg.Done()
			memberLoop(ctx, cfg, c, leave, stopped)
		}()
		return nil
	}
	for range g.Members {
		if err := join(); err != nil {
			return err
		}
	}
	for !stopped() {
		if g.Churn < 0 {
			sleepUnless(time.Hour, stopped)
			continue
		}
		pause := time.Duration(float64(g.Churn) * (0.5 + rng.Float64()))
		if !sleepUnless(pause, stopped) {
			break
		}
		i := rng.IntN(len(live))
		close(live[i])
		live = append(live[:i], live[i+1:]...)
		if err := join(); err != nil {
			return err
		}
	}
	return nil
}

// sleepUnless sleeps for d and reports true, or returns false as soon as
// stopped says so.
func sleepUnless(d time.Duration, stopped func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if stopped() {
			return false
		}
		time.Sleep(min(10*time.Millisecond, time.Until(deadline)))
	}
	return !stopped()
}

// memberLoop polls, commits what each poll returned, now and then reads
// the commits back, and allows the rebalance kgo held back during that;
// when told to leave (or stopped) it closes the client, which leaves the
// group and revokes what the member owned.
func memberLoop(ctx context.Context, cfg Config, c *recorder.Client, leave <-chan struct{}, stopped func() bool) {
	cl := c.Kgo()
	defer cl.Close()
	g := cfg.Group
	for n := 0; ; n++ {
		select {
		case <-leave:
			return
		default:
		}
		if stopped() {
			return
		}
		pctx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
		fs := c.Poll(pctx)
		cancel()
		if recs := fs.Records(); len(recs) > 0 {
			octx, cancel := context.WithTimeout(ctx, cfg.OpTimeout)
			_ = c.CommitRecords(octx, recs...)
			if g.ReadBackEvery > 0 && n%g.ReadBackEvery == 0 {
				_, _ = c.FetchOffsets(octx, g.Name, cfg.Topic, partitionsOf(recs)...)
			}
			cancel()
		}
		cl.AllowRebalance()
	}
}

// partitionsOf lists the partitions of cfg's topic recs came from.
func partitionsOf(recs []*kgo.Record) []int32 {
	seen := map[int32]bool{}
	var out []int32
	for _, r := range recs {
		if !seen[r.Partition] {
			seen[r.Partition] = true
			out = append(out, r.Partition)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
