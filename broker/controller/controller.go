// Package controller decides cluster metadata changes: it validates admin
// requests (create and delete topics, add partitions, alter configs), turns
// them into metadata records, makes the records durable, and publishes the
// resulting image to the broker. Today the record log is a local file (a
// one-node quorum); the records and the pure image are already KRaft-shaped
// (KIP-500) so a Raft log can carry them later.
package controller

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"

	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/ordo-broker/ordo/broker/metadata"
	"github.com/ordo-broker/ordo/broker/topicconfig"
)

// Errors the controller answers with; the handlers map them to Kafka codes.
var (
	ErrTopicExists              = errors.New("topic already exists")
	ErrUnknownTopic             = errors.New("unknown topic")
	ErrInvalidPartitions        = errors.New("invalid number of partitions")
	ErrInvalidReplicationFactor = errors.New("invalid replication factor")
	ErrInvalidReplicaAssignment = errors.New("invalid replica assignment")
	ErrInternalTopic            = errors.New("internal topics cannot be changed this way")
	// ErrReservedTopic is a CreateTopics of __cluster_metadata, which
	// KRaft refuses with INVALID_REQUEST.
	ErrReservedTopic = errors.New("reserved topic name")
)

// MaxPartitions bounds one topic's partition count. Kafka sets no limit,
// but every partition is a folder with open files here, and a request for
// 33,554,432 partitions (found by fuzzing) must be an error, not an
// out-of-memory crash.
const MaxPartitions = 10000

// Listener is told about every new image, in order, after its records are
// durable.
type Listener func(prev, next *metadata.Image)

// Preparer readies the broker for a change before the controller makes it
// durable. The partition manager is one: it opens the logs of new
// partitions first, so that a topic whose partitions cannot be opened is
// refused instead of acknowledged and left unserved.
type Preparer interface {
	// Prepare is called under the controller's lock with the current image
	// and the one the change would make, before any record is written. An
	// error refuses the change (the caller gets it); Prepare must then have
	// undone its own work.
	Prepare(prev, next *metadata.Image) error
	// Abandon is called with the current image when a change that Prepare
	// accepted could not be written after all.
	Abandon(current *metadata.Image)
}

// Controller owns the metadata record log and the current image.
type Controller struct {
	mu        sync.Mutex // serialises changes; image reads take it too
	log       *recordLog
	image     *metadata.Image
	listeners []Listener
	preparer  Preparer
	logger    *slog.Logger
}

// Open replays the record log in dir (creating it if absent).
func Open(fsys fs.FS, dir string, clusterID string, logger *slog.Logger) (*Controller, error) {
	if logger == nil {
		logger = slog.Default()
	}
	rl, changes, err := openRecordLog(fsys, dir, logger)
	if err != nil {
		return nil, err
	}
	im := metadata.NewImage(clusterID)
	for _, c := range changes {
		next, err := im.Apply(c.recs...)
		if err != nil {
			_ = rl.close()
			return nil, fmt.Errorf("controller: %w: replaying the change in %s: %w", ErrCorruptMetadataLog, rl.describe(c), err)
		}
		im = next
	}
	return &Controller{log: rl, image: im, logger: logger}, nil
}

// Close closes the record log.
func (c *Controller) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.log.close()
}

// Image returns the current metadata image. Images are immutable.
func (c *Controller) Image() *metadata.Image {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.image
}

// Subscribe adds a listener. It is called at once with (nil, current) so the
// subscriber starts from the current state.
func (c *Controller) Subscribe(l Listener) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.listeners = append(c.listeners, l)
	l(nil, c.image)
}

// SetPreparer makes p ready every later change before it is committed.
func (c *Controller) SetPreparer(p Preparer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.preparer = p
}

// commit makes recs durable, applies them and tells listeners. Callers hold
// c.mu. Records are validated by Apply before they are written, so a record
// that does not fit never reaches the log; the preparer readies the broker
// for them before they are written, so a change the broker cannot carry
// out (a new partition whose log cannot be opened) never does either.
func (c *Controller) commit(recs ...metadata.Record) error {
	next, err := c.image.Apply(recs...)
	if err != nil {
		return err
	}
	if c.preparer != nil {
		if err := c.preparer.Prepare(c.image, next); err != nil {
			return err
		}
	}
	if err := c.log.append(recs); err != nil {
		if c.preparer != nil {
			c.preparer.Abandon(c.image)
		}
		return err
	}
	prev := c.image
	c.image = next
	for _, l := range c.listeners {
		l(prev, next)
	}
	return nil
}

// RegisterBroker records where a broker is reached, if it changed.
func (c *Controller) RegisterBroker(b metadata.BrokerRecord) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.image.Brokers[b.NodeID]; ok && old == b {
		return nil
	}
	return c.commit(metadata.Record{Broker: &b})
}

// CreateTopic is one topic of a CreateTopics request.
type CreateTopic struct {
	Name              string
	NumPartitions     int32 // -1: the broker default (KIP-464)
	ReplicationFactor int16 // -1: the broker default (KIP-464)
	// Assignment, if set, gives each partition's replicas explicitly.
	Assignment [][]int32
	Configs    map[string]string
	Internal   bool
}

// Defaults are the broker-level defaults for topic creation.
type Defaults struct {
	NumPartitions     int32
	ReplicationFactor int16
}

// CreateTopic validates ct and, unless validateOnly, creates the topic. It
// returns the topic as it is (or would be) created.
func (c *Controller) CreateTopic(ct CreateTopic, d Defaults, validateOnly bool) (*metadata.Topic, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := metadata.ValidateTopicName(ct.Name); err != nil {
		return nil, err
	}
	if ct.Name == metadata.ClusterMetadataTopic {
		return nil, fmt.Errorf("%w: Creation of internal topic %s is prohibited.", ErrReservedTopic, ct.Name)
	}
	if _, ok := c.image.Topics[ct.Name]; ok {
		return nil, fmt.Errorf("%w: topic %q already exists", ErrTopicExists, ct.Name)
	}
	if other, ok := c.image.CollidingTopic(ct.Name); ok {
		// Kafka's ReplicationControlManager.validateNewTopicNames.
		kind := "existing"
		if _, exists := c.image.Topics[other]; !exists {
			kind = "internal"
		}
		return nil, fmt.Errorf("%w: Topic '%s' collides with %s topic: %s", metadata.ErrInvalidTopic, ct.Name, kind, other)
	}
	if _, err := topicconfig.Build(ct.Configs); err != nil {
		return nil, err
	}
	brokers := c.image.BrokerIDs()
	var assignment [][]int32
	if len(ct.Assignment) > 0 {
		if ct.NumPartitions != -1 || ct.ReplicationFactor != -1 {
			return nil, fmt.Errorf("%w: both partition count or replication factor and a manual assignment were given", ErrInvalidReplicaAssignment)
		}
		if len(ct.Assignment) > MaxPartitions {
			return nil, fmt.Errorf("%w: %d partitions is more than Ordo's limit of %d per topic", ErrInvalidPartitions, len(ct.Assignment), MaxPartitions)
		}
		if err := validateAssignment(ct.Assignment, brokers); err != nil {
			return nil, err
		}
		assignment = ct.Assignment
	} else {
		n, rf := ct.NumPartitions, ct.ReplicationFactor
		if n == -1 {
			n = d.NumPartitions
		}
		if rf == -1 {
			rf = d.ReplicationFactor
		}
		if n <= 0 {
			return nil, fmt.Errorf("%w: number of partitions must be larger than 0", ErrInvalidPartitions)
		}
		if n > MaxPartitions {
			return nil, fmt.Errorf("%w: %d partitions is more than Ordo's limit of %d per topic", ErrInvalidPartitions, n, MaxPartitions)
		}
		if rf <= 0 {
			return nil, fmt.Errorf("%w: replication factor must be larger than 0", ErrInvalidReplicationFactor)
		}
		if int(rf) > len(brokers) {
			return nil, fmt.Errorf("%w: replication factor %d is larger than the %d available brokers", ErrInvalidReplicationFactor, rf, len(brokers))
		}
		assignment = assign(brokers, 0, n, rf)
	}
	id := metadata.NewTopicID()
	// Kafka's internal names make internal topics, whoever creates them
	// (Kafka lets a client create __consumer_offsets with CreateTopics;
	// the group coordinator then uses it as it is).
	internal := ct.Internal || metadata.IsInternalTopic(ct.Name)
	recs := []metadata.Record{{Topic: &metadata.TopicRecord{Name: ct.Name, TopicID: id, Internal: internal}}}
	recs = append(recs, partitionRecords(id, 0, assignment)...)
	for name, v := range ct.Configs {
		recs = append(recs, metadata.Record{Config: &metadata.ConfigRecord{Topic: ct.Name, Name: name, Value: &v}})
	}
	next, err := c.image.Apply(recs...)
	if err != nil {
		return nil, err
	}
	if !validateOnly {
		if err := c.commit(recs...); err != nil {
			return nil, err
		}
	}
	return next.Topics[ct.Name], nil
}

// DeleteTopic removes a topic (by name, or by id when name is empty).
func (c *Controller) DeleteTopic(name string, id metadata.TopicID) (*metadata.Topic, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var t *metadata.Topic
	var ok bool
	if name != "" {
		t, ok = c.image.Topics[name]
	} else {
		t, ok = c.image.TopicByID(id)
	}
	if !ok {
		return nil, ErrUnknownTopic
	}
	if t.Internal {
		return nil, fmt.Errorf("%w: %q", ErrInternalTopic, t.Name)
	}
	return t, c.commit(metadata.Record{RemoveTopic: &metadata.RemoveTopicRecord{TopicID: t.ID}})
}

// CreatePartitions grows a topic to count partitions.
func (c *Controller) CreatePartitions(name string, count int32, assignment [][]int32, validateOnly bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.image.Topics[name]
	if !ok {
		return ErrUnknownTopic
	}
	have := int32(len(t.Partitions))
	if count < have {
		return fmt.Errorf("%w: topic currently has %d partitions, which is higher than the requested %d", ErrInvalidPartitions, have, count)
	}
	if count == have {
		return fmt.Errorf("%w: topic already has %d partitions", ErrInvalidPartitions, have)
	}
	if count > MaxPartitions {
		return fmt.Errorf("%w: %d partitions is more than Ordo's limit of %d per topic", ErrInvalidPartitions, count, MaxPartitions)
	}
	brokers := c.image.BrokerIDs()
	rf := int16(len(t.Partitions[0].Replicas))
	var add [][]int32
	if assignment != nil {
		if int32(len(assignment)) != count-have {
			return fmt.Errorf("%w: %d assignments given for %d new partitions", ErrInvalidReplicaAssignment, len(assignment), count-have)
		}
		if err := validateAssignment(assignment, brokers); err != nil {
			return err
		}
		add = assignment
	} else {
		add = assign(brokers, have, count-have, rf)
	}
	recs := partitionRecords(t.ID, have, add)
	if validateOnly {
		_, err := c.image.Apply(recs...)
		return err
	}
	return c.commit(recs...)
}

// UpdateConfigs replaces a topic's overrides with what update makes of the
// current ones, after validating the result. update runs under the
// controller's lock, so concurrent incremental changes never lose each other.
func (c *Controller) UpdateConfigs(name string, update func(current map[string]string) (map[string]string, error), validateOnly bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.image.Topics[name]
	if !ok {
		return ErrUnknownTopic
	}
	overrides, err := update(maps.Clone(t.Configs))
	if err != nil {
		return err
	}
	if _, err := topicconfig.Build(overrides); err != nil {
		return err
	}
	var recs []metadata.Record
	for k := range t.Configs {
		if _, keep := overrides[k]; !keep {
			recs = append(recs, metadata.Record{Config: &metadata.ConfigRecord{Topic: name, Name: k}})
		}
	}
	for k, v := range overrides {
		if old, ok := t.Configs[k]; !ok || old != v {
			recs = append(recs, metadata.Record{Config: &metadata.ConfigRecord{Topic: name, Name: k, Value: &v}})
		}
	}
	if validateOnly || len(recs) == 0 {
		return nil
	}
	return c.commit(recs...)
}

func partitionRecords(id metadata.TopicID, first int32, assignment [][]int32) []metadata.Record {
	recs := make([]metadata.Record, 0, len(assignment))
	for i, replicas := range assignment {
		recs = append(recs, metadata.Record{Partition: &metadata.PartitionRecord{
			TopicID:   id,
			Partition: first + int32(i),
			Replicas:  replicas,
			ISR:       replicas,
			Leader:    replicas[0],
		}})
	}
	return recs
}

// assign spreads n partitions, starting at partition first, over brokers
// round-robin, each with rf replicas, so leaders are balanced.
func assign(brokers []int32, first, n int32, rf int16) [][]int32 {
	out := make([][]int32, n)
	for i := range out {
		p := int(first) + i
		replicas := make([]int32, rf)
		for r := range replicas {
			replicas[r] = brokers[(p+r)%len(brokers)]
		}
		out[i] = replicas
	}
	return out
}

func validateAssignment(assignment [][]int32, brokers []int32) error {
	known := map[int32]bool{}
	for _, b := range brokers {
		known[b] = true
	}
	rf := len(assignment[0])
	for i, replicas := range assignment {
		if len(replicas) == 0 || len(replicas) != rf {
			return fmt.Errorf("%w: partition %d has %d replicas, want %d", ErrInvalidReplicaAssignment, i, len(replicas), rf)
		}
		seen := map[int32]bool{}
		for _, r := range replicas {
			if !known[r] {
				return fmt.Errorf("%w: broker %d is not registered", ErrInvalidReplicaAssignment, r)
			}
			if seen[r] {
				return fmt.Errorf("%w: broker %d appears twice in partition %d", ErrInvalidReplicaAssignment, r, i)
			}
			seen[r] = true
		}
	}
	return nil
}
