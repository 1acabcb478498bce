package group

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"github.com/ordo-broker/ordo/broker/clock"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ordo-broker/ordo/broker/controller"
	"github.com/ordo-broker/ordo/broker/metadata"
	"github.com/ordo-broker/ordo/broker/partition"
)

// Log is what the coordinator needs of a partition of __consumer_offsets;
// *partition.Partition is one.
type Log interface {
	Append(records []byte, now time.Time) (partition.Appended, error)
	WaitCommitted(ctx context.Context, a partition.Appended, timeout time.Duration) error
	Read(offset int64, maxBytes int, minOne bool) (records []byte, hw int64, err error)
	LogStartOffset() int64
	HighWatermark() int64
}

// Metadata is what the coordinator needs of the controller:
// *controller.Controller is one.
type Metadata interface {
	Image() *metadata.Image
	CreateTopic(ct controller.CreateTopic, d controller.Defaults, validateOnly bool) (*metadata.Topic, error)
}

// CoordinatorConfig configures a Coordinator.
type CoordinatorConfig struct {
	// NodeID is this broker: it coordinates the groups of the partitions of
	// __consumer_offsets it leads.
	NodeID int32
	// Partitions is offsets.topic.num.partitions, used when the coordinator
	// creates __consumer_offsets (default 50). Once the topic exists its
	// partition count is what counts.
	Partitions int32
	// ReplicationFactor is offsets.topic.replication.factor (default 1).
	ReplicationFactor int16
	// Group configures every group's state machine.
	Group Config
	// CommitTimeout is offsets.commit.timeout.ms: how long a write to
	// __consumer_offsets may take to commit (default 5s).
	CommitTimeout time.Duration
	// Clock is the broker's clock: the groups' deadlines are armed on
	// it. nil means the wall clock.
	Clock  clock.Clock
	Logger *slog.Logger
}

// Coordinator is the group coordinator: it serves the groups of the
// partitions of __consumer_offsets this broker leads.
type Coordinator struct {
	cfg  CoordinatorConfig
	meta Metadata
	logs func(partition int32) Log

	// ctx ends at Close: loads stop and waits for commits give up.
	ctx    context.Context
	cancel context.CancelFunc
	// wg counts loads and write completions.
	wg sync.WaitGroup

	mu     sync.Mutex
	shards map[int32]*shard
	closed bool

	waiters atomic.Uint64 // the last waiter handed out
}

// NewCoordinator returns a coordinator. logs finds the local partition of
// __consumer_offsets with the given index (nil if not hosted). Feed it the
// metadata images with OnImage.
func NewCoordinator(cfg CoordinatorConfig, meta Metadata, logs func(partition int32) Log) *Coordinator {
	if cfg.Partitions <= 0 {
		cfg.Partitions = 50
	}
	if cfg.ReplicationFactor <= 0 {
		cfg.ReplicationFactor = 1
	}
	if cfg.CommitTimeout <= 0 {
		cfg.CommitTimeout = 5 * time.Second
	}
	cfg.Clock = clock.OrReal(cfg.Clock)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Coordinator{cfg: cfg, meta: meta, logs: logs, ctx: ctx, cancel: cancel, shards: map[int32]*shard{}}
}

// Close stops serving: parked requests get NOT_COORDINATOR, timers stop,
// and Close waits for loads and pending writes to finish.
func (c *Coordinator) Close() error {
	c.mu.Lock()
	c.closed = true
	shards := c.shards
	c.shards = map[int32]*shard{}
	c.mu.Unlock()
	c.cancel()
	for _, sh := range shards {
		sh.unload()
	}
	c.wg.Wait()
	return nil
}

// OnImage follows leadership of __consumer_offsets (a controller
// listener, called under the controller's lock): it starts loading the
// partitions this broker now leads, and unloads those it no longer leads or
// whose leader epoch changed.
func (c *Coordinator) OnImage(_, next *metadata.Image) {
	want := map[int32]int32{} // partition → leader epoch
	if t := next.Topics[OffsetsTopic]; t != nil {
		for _, pr := range t.Partitions {
			if pr.Leader == c.cfg.NodeID {
				want[pr.Partition] = pr.LeaderEpoch
			}
		}
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	var unload, load []*shard
	for p, sh := range c.shards {
		if e, ok := want[p]; !ok || e != sh.epoch {
			delete(c.shards, p)
			unload = append(unload, sh)
		}
	}
	for p, e := range want {
		if _, ok := c.shards[p]; !ok {
			sh := newShard(c, p, e)
			c.shards[p] = sh
			load = append(load, sh)
		}
	}
	c.wg.Add(len(load))
	c.mu.Unlock()
	for _, sh := range unload {
		sh.unload()
	}
	for _, sh := range load {
		go func() {
			defer c.wg.Done()
			sh.load()
		}()
	}
}

// Coordinator is the broker that coordinates a group: the leader of its
// partition of __consumer_offsets, which is created if it does not exist
// yet (as Kafka does on the first FindCoordinator).
func (c *Coordinator) Coordinator(groupID string) (metadata.BrokerRecord, error) {
	t, err := c.offsetsTopic()
	if err != nil {
		return metadata.BrokerRecord{}, err
	}
	pr := t.Partitions[PartitionFor(groupID, int32(len(t.Partitions)))]
	b, ok := c.meta.Image().Brokers[pr.Leader]
	if !ok {
		return metadata.BrokerRecord{}, ErrCoordinatorNotAvailable
	}
	return b, nil
}

// CreateOffsetsTopic creates __consumer_offsets, as the first group request
// would, if it does not exist yet. Metadata auto-creation of the topic comes
// here: Kafka's AutoTopicCreationManager creates it with the coordinator's
// settings (offsets.topic.num.partitions, a compacted topic), never as an
// ordinary topic.
func (c *Coordinator) CreateOffsetsTopic() error {
	_, err := c.offsetsTopic()
	return err
}

// offsetsTopic is __consumer_offsets, created if needed. Never called with
// a coordinator lock held: creating takes the controller's lock, which
// calls OnImage.
func (c *Coordinator) offsetsTopic() (*metadata.Topic, error) {
	if t := c.meta.Image().Topics[OffsetsTopic]; t != nil && len(t.Partitions) > 0 {
		return t, nil
	}
	_, err := c.meta.CreateTopic(controller.CreateTopic{
		Name:              OffsetsTopic,
		NumPartitions:     c.cfg.Partitions,
		ReplicationFactor: c.cfg.ReplicationFactor,
		// Kafka's offsets.topic.* settings: a compacted topic whose
		// segments roll at 100 MiB.
		Configs:  map[string]string{"cleanup.policy": "compact", "segment.bytes": "104857600"},
		Internal: true,
	}, controller.Defaults{NumPartitions: c.cfg.Partitions, ReplicationFactor: c.cfg.ReplicationFactor}, false)
	if err != nil && !errors.Is(err, controller.ErrTopicExists) {
		c.cfg.Logger.Error("creating __consumer_offsets", "err", err)
		return nil, fmt.Errorf("%w: creating %s: %v", ErrCoordinatorNotAvailable, OffsetsTopic, err)
	}
	t := c.meta.Image().Topics[OffsetsTopic]
	if t == nil || len(t.Partitions) == 0 {
		return nil, ErrCoordinatorNotAvailable
	}
	return t, nil
}

// shardFor is the loaded shard that holds a group, or why there is none:
// NOT_COORDINATOR when another broker leads its partition (or none),
// COORDINATOR_LOAD_IN_PROGRESS while it loads.
func (c *Coordinator) shardFor(groupID string) (*shard, error) {
	t, err := c.offsetsTopic()
	if err != nil {
		return nil, err
	}
	p := PartitionFor(groupID, int32(len(t.Partitions)))
	if pr := t.Partitions[p]; pr.Leader != c.cfg.NodeID {
		return nil, ErrNotCoordinator
	}
	c.mu.Lock()
	sh := c.shards[p]
	c.mu.Unlock()
	if sh == nil {
		return nil, ErrNotCoordinator
	}
	return sh, nil
}

// newWaiter hands out a waiter id, unique for the coordinator's life.
func (c *Coordinator) newWaiter() Waiter { return Waiter(c.waiters.Add(1)) }

func (c *Coordinator) now() time.Time { return c.cfg.Clock.Now() }

// newMemberID is Kafka's member id: the client id (or the group.instance.id
// of a static member) followed by a random UUID.
func newMemberID(clientID string, instanceID *string) string {
	prefix := clientID
	if instanceID != nil {
		prefix = *instanceID
	}
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%s-%x-%x-%x-%x-%x", prefix, u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
