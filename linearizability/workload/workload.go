// Package workload drives a Kafka-protocol cluster with concurrent,
// recorded clients for a bounded time and then drains it, producing a
// history for package linearizability to check: the LOG workload
// (producers, consumers polling every partition, a final drain), the LIN
// one (latest offsets and leader fetches read concurrently), with consumer
// offset commits when the cluster serves them, and the GROUP one (members
// of a consumer group joining and leaving, committing after every poll).
//
// It talks to the cluster only through franz-go clients; it never imports
// the broker, so it can drive any Kafka-compatible cluster.
package workload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	lin "github.com/ordo-broker/ordo/linearizability"
	"github.com/ordo-broker/ordo/linearizability/recorder"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Config describes one run. Zero fields take the defaults noted.
type Config struct {
	Brokers    []string
	Topic      string        // created with Partitions partitions, replication factor 1
	Partitions int32         // 4
	Producers  int           // 4
	Consumers  int           // 2 (none with a Group)
	Readers    int           // 2: latest offsets and linearizable fetches
	Duration   time.Duration // 3s
	// ReadPause is a reader's pause between reads (2ms): readers are cheap
	// and would otherwise swamp the history, whose size the porcupine
	// check pays for.
	ReadPause time.Duration
	// OpTimeout bounds each call (5s); a call that times out is recorded
	// as indeterminate.
	OpTimeout time.Duration
	// Seed drives every random choice (partitions, read kinds); print it.
	Seed int64
	// Commits makes consumers commit after every poll and read their
	// commits back (needs OffsetCommit and OffsetFetch: see
	// GroupOffsetsSupported).
	Commits bool
	// History, if not nil, receives the history as JSON lines while the
	// run goes.
	History io.Writer
	// ClientOpts are added to every client's options.
	ClientOpts []kgo.Opt
	// BeforeDrain, if not nil, runs once the load has stopped and before
	// the final drain: the place to heal faults, so the drain reads what
	// the load phase left.
	BeforeDrain func()
	// Group, if not nil, adds the GROUP workload: members of one consumer
	// group that join and leave during the run and commit after every
	// poll (see GroupConfig). With a Group, Consumers defaults to none.
	Group *GroupConfig
	// Enough, if not nil, keeps the load running past Duration until it
	// holds of the history recorded so far (checked every 50 ms), for at
	// most MaxDuration in all: a run counts only with enough traffic, and
	// on a loaded machine Duration alone may not bring it.
	Enough func(lin.History) bool
	// MaxDuration bounds the load phase with Enough (10 × Duration).
	MaxDuration time.Duration
	// Nemesis, if not nil, runs beside the load from its start, with its
	// own stream of the seed: the place to inject faults, each recorded
	// with fault (call it when the fault begins, and the function it
	// returns when it ends; faults are drawn on the visualization). The
	// load stops after Duration either way; Run waits for Nemesis to
	// return before BeforeDrain and the drain.
	Nemesis func(stopped func() bool, rng *rand.Rand, fault func(description string) (end func()))
}

func (c *Config) defaults() {
	if c.Partitions == 0 {
		c.Partitions = 4
	}
	if c.Producers == 0 {
		c.Producers = 4
	}
	if c.Consumers == 0 && c.Group == nil {
		c.Consumers = 2
	}
	if c.Readers == 0 {
		c.Readers = 2
	}
	if c.Duration == 0 {
		c.Duration = 3 * time.Second
	}
	if c.ReadPause == 0 {
		c.ReadPause = 2 * time.Millisecond
	}
	if c.OpTimeout == 0 {
		c.OpTimeout = 5 * time.Second
	}
	if c.MaxDuration == 0 {
		c.MaxDuration = 10 * c.Duration
	}
}

// Result is a finished run.
type Result struct {
	History lin.History
	// Elapsed is the load phase, without set-up and drain.
	Elapsed time.Duration
}

// Run creates the topic, runs the clients for cfg.Duration (longer with
// cfg.Enough), stops them,
// drains the topic and returns the history. The history is returned even
// when the drain fails (the checkers then say what they could not judge).
func Run(ctx context.Context, cfg Config) (Result, error) {
	cfg.defaults()
	if cfg.Group != nil {
		g := *cfg.Group
		if err := g.defaults(cfg.Topic); err != nil {
			return Result{}, err
		}
		cfg.Group = &g
	}
	// Every producer of the topic is one of ours: a value we did not send
	// is an anomaly.
	rec := recorder.New(cfg.History, recorder.AllProducersRecorded(fmt.Sprintf("workload topic %s seed %d", cfg.Topic, cfg.Seed)))
	setup, err := newClient(cfg)
	if err != nil {
		return Result{}, err
	}
	defer setup.Close()
	if _, err := kadm.NewClient(setup).CreateTopic(ctx, cfg.Partitions, 1, nil, cfg.Topic); err != nil {
		return Result{}, fmt.Errorf("workload: create topic %s: %w", cfg.Topic, err)
	}

	var clients []*kgo.Client
	defer func() {
		for _, cl := range clients {
			cl.Close()
		}
	}()
	client := func(opts ...kgo.Opt) (*recorder.Client, error) {
		cl, err := newClient(cfg, opts...)
		if err != nil {
			return nil, err
		}
		clients = append(clients, cl)
		return rec.Client(cl), nil
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var errMu sync.Mutex
	var errs []error
	// Each loop draws from its own stream of the seed: (role, id).
	spawn := func(name string, role uint64, id int, loop func(stopped func() bool, rng *rand.Rand) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(cfg.Seed), role<<32|uint64(id)))
			stopped := func() bool {
				select {
				case <-stop:
					return true
				case <-ctx.Done():
					return true
				default:
					return false
				}
			}
			if err := loop(stopped, rng); err != nil {
				errMu.Lock()
				errs = append(errs, fmt.Errorf("%s %d: %w", name, id, err))
				errMu.Unlock()
			}
		}()
	}

	for i := range cfg.Producers {
		c, err := client(kgo.RecordPartitioner(kgo.ManualPartitioner()))
		if err != nil {
			return Result{}, err
		}
		spawn("producer", 1, i, func(stopped func() bool, rng *rand.Rand) error { return produceLoop(ctx, cfg, c, i, stopped, rng) })
	}
	for i := range cfg.Consumers {
		assign := map[int32]kgo.Offset{}
		for p := range cfg.Partitions {
			assign[p] = kgo.NewOffset().At(0)
		}
		c, err := client(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{cfg.Topic: assign}), kgo.FetchMaxWait(100*time.Millisecond))
		if err != nil {
			return Result{}, err
		}
		for p := range cfg.Partitions {
			c.Assigned(cfg.Topic, p, 0)
		}
		spawn("consumer", 2, i, func(stopped func() bool, rng *rand.Rand) error { return consumeLoop(ctx, cfg, c, i, stopped) })
	}
	for i := range cfg.Readers {
		c, err := client()
		if err != nil {
			return Result{}, err
		}
		spawn("reader", 3, i, func(stopped func() bool, rng *rand.Rand) error { return readLoop(ctx, cfg, c, stopped, rng) })
	}

	if cfg.Group != nil {
		spawn("group", 4, 0, func(stopped func() bool, rng *rand.Rand) error { return groupLoop(ctx, cfg, rec, stopped, rng) })
	}
	if cfg.Nemesis != nil {
		spawn("nemesis", 5, 0, func(stopped func() bool, rng *rand.Rand) error {
			cfg.Nemesis(stopped, rng, rec.Fault)
			return nil
		})
	}

	start := time.Now()
	select {
	case <-time.After(cfg.Duration):
	case <-ctx.Done():
	}
	if cfg.Enough != nil {
		limit := time.After(cfg.MaxDuration - time.Since(start))
	more:
		for !cfg.Enough(rec.History()) {
			select {
			case <-time.After(50 * time.Millisecond):
			case <-limit:
				break more
			case <-ctx.Done():
				break more
			}
		}
	}
	close(stop)
	wg.Wait()
	elapsed := time.Since(start)
	if cfg.BeforeDrain != nil {
		cfg.BeforeDrain()
	}

	drainer, err := client()
	if err != nil {
		return Result{}, err
	}
	dctx, cancel := context.WithTimeout(ctx, 4*cfg.OpTimeout)
	defer cancel()
	if err := drainer.Drain(dctx, cfg.Topic, true); err != nil {
		errs = append(errs, err)
	}
	if err := rec.Flush(); err != nil {
		errs = append(errs, fmt.Errorf("writing the history: %w", err))
	}
	return Result{History: rec.History(), Elapsed: elapsed}, errors.Join(errs...)
}

func newClient(cfg Config, opts ...kgo.Opt) (*kgo.Client, error) {
	return kgo.NewClient(clientOpts(cfg, opts...)...)
}

// clientOpts are every client's options, then opts.
func clientOpts(cfg Config, opts ...kgo.Opt) []kgo.Opt {
	all := append([]kgo.Opt{kgo.SeedBrokers(cfg.Brokers...), kgo.RequestTimeoutOverhead(cfg.OpTimeout)}, cfg.ClientOpts...)
	return append(all, opts...)
}

// produceLoop sends unique values ("p<producer>-<n>") to random partitions,
// one at a time, until stopped. Failures are recorded, not fatal.
func produceLoop(ctx context.Context, cfg Config, c *recorder.Client, id int, stopped func() bool, rng *rand.Rand) error {
	for n := 0; !stopped(); n++ {
		octx, cancel := context.WithTimeout(ctx, cfg.OpTimeout)
		_, _ = c.Produce(octx, cfg.Topic, rng.Int32N(cfg.Partitions), fmt.Sprintf("p%d-%d", id, n))
		cancel()
	}
	return nil
}

// consumeLoop polls every partition until stopped; with Commits it commits
// the next offset of each partition it read and reads one back now and
// then.
func consumeLoop(ctx context.Context, cfg Config, c *recorder.Client, id int, stopped func() bool) error {
	group := fmt.Sprintf("%s-consumer-%d", cfg.Topic, id)
	for n := 0; !stopped(); n++ {
		pctx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
		fs := c.Poll(pctx)
		cancel()
		if !cfg.Commits {
			continue
		}
		next := map[int32]int64{}
		fs.EachRecord(func(r *kgo.Record) { next[r.Partition] = r.Offset + 1 })
		if len(next) == 0 {
			continue
		}
		octx, cancel := context.WithTimeout(ctx, cfg.OpTimeout)
		_ = c.Commit(octx, group, cfg.Topic, next)
		if n%4 == 0 {
			var ps []int32
			for p := range next {
				ps = append(ps, p)
			}
			_, _ = c.FetchOffsets(octx, group, cfg.Topic, ps...)
		}
		cancel()
	}
	return nil
}

// readLoop alternates linearizable reads: latest offsets of every
// partition, and a leader fetch of a few records just below a partition's
// last known high watermark.
func readLoop(ctx context.Context, cfg Config, c *recorder.Client, stopped func() bool, rng *rand.Rand) error {
	hw := map[int32]int64{}
	for !stopped() {
		octx, cancel := context.WithTimeout(ctx, cfg.OpTimeout)
		if rng.IntN(2) == 0 {
			if ends, err := c.ListOffsets(octx, lin.SpecLatest, cfg.Topic); err == nil {
				hw = ends
			}
		} else {
			p := rng.Int32N(cfg.Partitions)
			from := max(0, hw[p]-int64(rng.IntN(4)))
			_, _ = c.Fetch(octx, cfg.Topic, p, from, recorder.FetchOptions{Linearizable: true, MaxBytes: 4 << 10})
		}
		cancel()
		time.Sleep(cfg.ReadPause)
	}
	return nil
}

// GroupOffsetsSupported reports whether the cluster serves what Commits
// needs: FindCoordinator, OffsetCommit and OffsetFetch.
func GroupOffsetsSupported(ctx context.Context, brokers []string) (bool, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return false, err
	}
	defer cl.Close()
	vs, err := kadm.NewClient(cl).ApiVersions(ctx)
	if err != nil {
		return false, err
	}
	for _, v := range vs {
		if v.Err != nil {
			return false, v.Err
		}
		for _, key := range []int16{kmsg.FindCoordinator.Int16(), kmsg.OffsetCommit.Int16(), kmsg.OffsetFetch.Int16()} {
			if _, ok := v.KeyMaxVersion(key); !ok {
				return false, nil
			}
		}
	}
	return len(vs) > 0, nil
}
