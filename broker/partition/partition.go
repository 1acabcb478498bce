// Package partition is the broker's view of the partitions it hosts (Kafka's
// ReplicaManager and Partition): it appends produced batches to the local
// log, tracks the high watermark apart from the log end offset, applies the
// flush policy, checks leader epochs (KIP-320) and wakes long-polling
// fetches when the high watermark moves.
//
// Lock order: Manager.mu before Partition.appendMu before Partition.mu; never
// the other way round.
package partition

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ordo-broker/ordo/broker/failpoints"
	"github.com/ordo-broker/ordo/broker/metadata"
	"github.com/ordo-broker/ordo/broker/storage"
	"github.com/ordo-broker/ordo/broker/topicconfig"
)

// Errors a partition answers with; handlers map them to Kafka codes.
var (
	ErrNotLeader          = errors.New("this broker is not the leader of the partition")
	ErrFencedLeaderEpoch  = errors.New("leader epoch in the request is older than the broker's")
	ErrUnknownLeaderEpoch = errors.New("leader epoch in the request is newer than the broker's")
	ErrMessageTooLarge    = errors.New("batch larger than max.message.bytes")
	ErrTimeout            = errors.New("timed out waiting for the high watermark")
	ErrStopped            = errors.New("partition is closed")
)

// Partition is one topic partition hosted by this broker.
type Partition struct {
	Topic   string
	TopicID metadata.TopicID
	Index   int32

	log *storage.Log
	// node is this broker's node id, for failpoints aimed at one broker.
	node int32
	// onLogFailure tells the manager that the log failed (see logErr).
	onLogFailure func(*Partition, error)

	// appendMu serialises appends so offsets are handed out in the order
	// batches arrive, and so the LogAppendTime stamp is monotonic.
	appendMu sync.Mutex
	// producers is the idempotent producers' state (producerstate.go),
	// guarded by appendMu: a batch is checked and appended under one lock,
	// so two in-flight retries can never both pass as new.
	producers *producerStates

	mu          sync.Mutex
	leader      int32
	leaderEpoch int32
	cfg         topicconfig.Config
	hw          int64 // high watermark: offsets below it are committed
	closed      bool
	hwMoved     chan struct{} // closed and replaced whenever hw moves
	sig         *signal       // the manager's any-partition broadcast
}

func newPartition(t *metadata.Topic, pr metadata.PartitionRecord, log *storage.Log, cfg topicconfig.Config) *Partition {
	p := &Partition{
		Topic:       t.Name,
		TopicID:     t.ID,
		Index:       pr.Partition,
		log:         log,
		leader:      pr.Leader,
		leaderEpoch: pr.LeaderEpoch,
		cfg:         cfg,
		hwMoved:     make(chan struct{}),
	}
	// This broker is the partition's only replica, so everything it
	// recovered is committed. Replication will start HW from a checkpoint.
	p.hw = log.LogEndOffset()
	return p
}

// Config is the partition's topic config.
func (p *Partition) Config() topicconfig.Config {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg
}

func (p *Partition) setState(pr metadata.PartitionRecord, cfg topicconfig.Config) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.leader, p.leaderEpoch, p.cfg = pr.Leader, pr.LeaderEpoch, cfg
}

// LeaderEpoch is the partition's current leader epoch.
func (p *Partition) LeaderEpoch() int32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.leaderEpoch
}

// CheckLeaderEpoch validates a client's CurrentLeaderEpoch (KIP-320): -1
// means the client does not know it and skips the check.
func (p *Partition) CheckLeaderEpoch(current int32) error {
	if current < 0 {
		return nil
	}
	e := p.LeaderEpoch()
	switch {
	case current < e:
		return ErrFencedLeaderEpoch
	case current > e:
		return ErrUnknownLeaderEpoch
	}
	return nil
}

// HighWatermark is the offset below which records are committed and visible
// to consumers.
func (p *Partition) HighWatermark() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hw
}

// LogStartOffset is the first offset still in the log.
func (p *Partition) LogStartOffset() int64 { return p.log.LogStartOffset() }

// LogEndOffset is the offset the next append gets.
func (p *Partition) LogEndOffset() int64 { return p.log.LogEndOffset() }

// Log exposes the storage for lookups that need no partition state.
func (p *Partition) Log() *storage.Log { return p.log }

// hwChanged returns a channel closed the next time the high watermark moves.
func (p *Partition) hwChanged() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hwMoved
}

func (p *Partition) advanceHW(to int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if to <= p.hw {
		return
	}
	p.hw = to
	close(p.hwMoved)
	p.hwMoved = make(chan struct{})
	if p.sig != nil {
		p.sig.broadcast()
	}
}

// Appended is the outcome of Append.
type Appended struct {
	storage.AppendInfo
	// fsync tells whether the flush policy wants the append on disk before
	// it counts as committed.
	fsync bool
	// Duplicate says the batches were an idempotent producer's retry of
	// batches already in the log: nothing was appended, and the offsets
	// are the original ones (waiting for them to be committed still
	// applies).
	Duplicate bool
	// unwritten: failpoints.AckWithoutAppend answered the batches without
	// writing them; there is nothing to wait for.
	unwritten bool
}

// Append validates and appends a produce payload. It takes records over:
// storage rewrites offsets in place, so the caller must not reuse them. It returns once the
// batches have offsets; WaitCommitted then waits until they are committed.
// now is the broker clock's reading, used for LogAppendTime.
func (p *Partition) Append(records []byte, now time.Time) (Appended, error) {
	p.mu.Lock()
	cfg, epoch, leader, closed := p.cfg, p.leaderEpoch, p.leader, p.closed
	p.mu.Unlock()
	if closed {
		return Appended{}, ErrStopped
	}
	_ = leader // single-replica partitions are always led here; replication checks it
	if int64(len(records)) > int64(cfg.MaxMessageBytes) {
		return Appended{}, fmt.Errorf("%w: %d bytes > %d", ErrMessageTooLarge, len(records), cfg.MaxMessageBytes)
	}
	batches, err := storage.ParseBatches(records)
	if err != nil {
		return Appended{}, err
	}
	for _, b := range batches {
		if int64(b.Size) > int64(cfg.MaxMessageBytes) {
			return Appended{}, fmt.Errorf("%w: batch of %d bytes > %d", ErrMessageTooLarge, b.Size, cfg.MaxMessageBytes)
		}
	}
	if cfg.Compacts() {
		// Kafka's LogValidator: a compacted topic refuses records
		// without a key (INVALID_RECORD).
		if err := storage.CheckKeys(records, batches); err != nil {
			return Appended{}, err
		}
	}
	logAppendTime := int64(-1)
	if cfg.MessageTimestampType == "LogAppendTime" {
		logAppendTime = now.UnixMilli()
	}
	fsync := cfg.SyncEachAppend()
	p.appendMu.Lock()
	p.producers.maybeExpire(now)
	orig, dup, err := p.producers.check(batches)
	if dup {
		if _, ok := failpoints.Eval(failpoints.SkipIdempotenceCheck, p.node); ok {
			dup = false // planted bug: the retry is appended again
		}
	}
	if err != nil || dup {
		p.appendMu.Unlock()
		if err != nil {
			return Appended{}, err
		}
		return Appended{AppendInfo: orig, fsync: fsync, Duplicate: true}, nil
	}
	if _, ok := failpoints.Eval(failpoints.AckWithoutAppend, p.node); ok {
		info := p.ackWithoutAppend(batches, logAppendTime, now)
		p.appendMu.Unlock()
		return Appended{AppendInfo: info, unwritten: true}, nil
	}
	info, err := p.log.AppendBatches(records, batches, epoch, logAppendTime)
	err = p.logErr(err)
	if err == nil {
		for _, b := range info.Batches {
			if b.ProducerID >= 0 {
				p.producers.apply(b, now)
			}
		}
	}
	p.appendMu.Unlock()
	if err != nil {
		return Appended{}, err
	}
	if !fsync {
		// Interval flush: the record is committed once written; the
		// flusher makes it durable later (Kafka's default trade-off).
		p.advanceHW(info.LastOffset + 1)
	}
	if failpoints.Enabled {
		info = p.reuseOffsets(info)
	}
	return Appended{AppendInfo: info, fsync: fsync}, nil
}

// reuseOffsets is the planted bug failpoints.ReuseOffsets: it answers an
// append with its offsets rewound by its record count (the offsets of the
// batch before), when those are still in the log.
func (p *Partition) reuseOffsets(info storage.AppendInfo) storage.AppendInfo {
	n := info.LastOffset - info.FirstOffset + 1
	if info.FirstOffset-n < p.log.LogStartOffset() {
		return info
	}
	if _, ok := failpoints.Eval(failpoints.ReuseOffsets, p.node); ok {
		info.FirstOffset, info.LastOffset = info.FirstOffset-n, info.LastOffset-n
	}
	return info
}

// ackWithoutAppend is the planted bug failpoints.AckWithoutAppend: the
// offsets the log would give batches, and the producer state as if they
// had been appended, with nothing written. appendMu is held.
func (p *Partition) ackWithoutAppend(batches []storage.Batch, logAppendTime int64, now time.Time) storage.AppendInfo {
	next := p.log.LogEndOffset()
	info := storage.AppendInfo{FirstOffset: next, MaxTimestamp: -1, OffsetOfMaxTimestamp: -1, LogAppendTime: logAppendTime}
	for _, b := range batches {
		b.BaseOffset = next
		next = b.LastOffset() + 1
		if b.ProducerID >= 0 {
			p.producers.apply(b, now)
		}
	}
	info.LastOffset = next - 1
	return info
}

// WaitCommitted waits until the appended batches are committed: on disk if
// the flush policy says so, and below the high watermark. It honours ctx and
// timeout (the produce request's timeout → REQUEST_TIMED_OUT).
func (p *Partition) WaitCommitted(ctx context.Context, a Appended, timeout time.Duration) error {
	if failpoints.Enabled && a.unwritten {
		return nil
	}
	if a.fsync {
		failpoints.Eval(failpoints.BeforeFsync, p.node)
		// Sync shares one fsync among concurrent callers (group commit).
		// When it fails, these batches are never acknowledged: the log
		// failed, and stays failed (storage.ErrLogFailed).
		if err := p.logErr(p.log.Sync()); err != nil {
			return err
		}
		p.advanceHW(p.log.SyncedOffset())
	}
	target := a.LastOffset + 1
	var timer <-chan time.Time
	for {
		p.mu.Lock()
		hw, ch, closed := p.hw, p.hwMoved, p.closed
		p.mu.Unlock()
		if hw >= target {
			return nil
		}
		if closed {
			return ErrStopped
		}
		if timer == nil {
			t := time.NewTimer(timeout)
			defer t.Stop()
			timer = t.C
		}
		select {
		case <-ch:
		case <-timer:
			return ErrTimeout
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Read returns whole stored batches from offset up to the high watermark
// (KIP-74: at least one batch when minOne, even past maxBytes).
func (p *Partition) Read(offset int64, maxBytes int, minOne bool) (records []byte, hw int64, err error) {
	hw = p.HighWatermark()
	if offset > hw && offset <= p.log.LogEndOffset() {
		// Between the high watermark and the log end: uncommitted data a
		// consumer may not see yet; not an error.
		return nil, hw, nil
	}
	records, err = p.log.Read(offset, hw, maxBytes, minOne)
	return records, hw, err
}

// Flush makes everything appended durable and lets the high watermark
// follow (used by the interval flusher; harmless for fsync topics).
func (p *Partition) Flush() error {
	failpoints.Eval(failpoints.BeforeFsync, p.node)
	if err := p.logErr(p.log.Sync()); err != nil {
		return err
	}
	p.advanceHW(p.log.SyncedOffset())
	return nil
}

// logErr returns err, first telling the manager when it says the log
// failed (storage.ErrLogFailed: an fsync or a write failed, and the log
// refuses writes until reopened): the broker stops on the first such
// failure (Manager.OnStorageFailure). Every call that writes or syncs the
// log passes its error through here.
func (p *Partition) logErr(err error) error {
	if err != nil && p.onLogFailure != nil && errors.Is(err, storage.ErrLogFailed) {
		p.onLogFailure(p, err)
	}
	return err
}

// DeleteRecordsBefore moves the log start offset (DeleteRecords). offset -1
// means the high watermark. It returns the new log start offset.
func (p *Partition) DeleteRecordsBefore(offset int64) (int64, error) {
	hw := p.HighWatermark()
	if offset == -1 {
		offset = hw
	}
	if offset < 0 || offset > hw {
		return 0, storage.ErrOffsetOutOfRange
	}
	if offset > p.log.LogStartOffset() {
		if err := p.logErr(p.log.SetLogStartOffset(offset)); err != nil {
			return 0, err
		}
	}
	return p.log.LogStartOffset(), nil
}

func (p *Partition) close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.hwMoved)
	p.hwMoved = make(chan struct{})
	p.mu.Unlock()
	return p.log.Close()
}
