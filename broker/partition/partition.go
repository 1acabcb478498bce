// Package partition is the broker's view of the partitions it hosts (Kafka's
// ReplicaManager and Partition): it appends produced batches to the local
// log, runs the flush policy (one fsync in flight per partition, shared by
// every append it covers: group commit), moves the high watermark and wakes
// the produces and long-polling fetches that wait for it, and answers reads
// and offset look-ups with only what is committed.
//
// The decisions (when to fsync, where the high watermark is, what a
// consumer may see, leader epoch checks) are made by a pure core,
// replica.Replica, one per partition; this package is its I/O shell: it
// feeds the core what happened to the log and acts on its Output. Handlers
// ask a Partition, never the storage underneath.
//
// Lock order: Manager.mu before Partition.appendMu before Partition.mu; never
// the other way round. Partition.mu guards the core; it is never held
// across an fsync or a log read.
package partition

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ordo-broker/ordo/broker/clock"
	"github.com/ordo-broker/ordo/broker/failpoints"
	"github.com/ordo-broker/ordo/broker/metadata"
	"github.com/ordo-broker/ordo/broker/recordbatch"
	"github.com/ordo-broker/ordo/broker/replica"
	"github.com/ordo-broker/ordo/broker/storage"
	"github.com/ordo-broker/ordo/broker/topicconfig"
)

// Partition is one topic partition hosted by this broker.
type Partition struct {
	Topic   string
	TopicID metadata.TopicID
	Index   int32

	log   *storage.Log
	clock clock.Clock
	// node is this broker's node id, for failpoints aimed at one broker.
	node int32
	// onLogFailure tells the manager that the log failed (see logErr).
	onLogFailure func(*Partition, error)
	// brokerFlushInterval is log.flush.scheduler.interval.ms, the
	// interval policy's bound unless flush.ms is shorter.
	brokerFlushInterval time.Duration

	// appendMu serialises appends so offsets are handed out in the order
	// batches arrive, and so the LogAppendTime stamp is monotonic.
	appendMu sync.Mutex
	// producers is the idempotent producers' state (producerstate.go),
	// guarded by appendMu: a batch is checked and appended under one lock,
	// so two in-flight retries can never both pass as new.
	producers *producerStates

	mu       sync.Mutex
	core     *replica.Replica
	cfg      topicconfig.Config
	closed   bool
	failed   error          // the error of a failed fsync: nothing more is committed
	hwMoved  chan struct{}  // closed and replaced whenever the high watermark moves
	sig      *signal        // the manager's any-partition broadcast
	alarm    *clock.Alarm   // the core's next deadline (interval flush)
	flushers sync.WaitGroup // the fsync in flight, if any
}

func newPartition(t *metadata.Topic, pr metadata.PartitionRecord, log *storage.Log, cfg topicconfig.Config, node int32, clk clock.Clock, brokerFlushInterval time.Duration) *Partition {
	p := &Partition{
		Topic:               t.Name,
		TopicID:             t.ID,
		Index:               pr.Partition,
		node:                node,
		log:                 log,
		clock:               clk,
		brokerFlushInterval: brokerFlushInterval,
		cfg:                 cfg,
		hwMoved:             make(chan struct{}),
		alarm:               clock.NewAlarm(clk),
	}
	// This broker is the partition's only replica, so everything it
	// recovered is committed; replication will start the high watermark
	// from its checkpoint.
	p.core = replica.New(replica.Recovered{
		LogStartOffset: log.LogStartOffset(),
		LogEndOffset:   log.LogEndOffset(),
		HighWatermark:  log.LogEndOffset(),
	}, p.flushPolicy(cfg), replica.Config{Node: node, MinInsyncReplicas: 1})
	p.core.SetPartition(clk.Now(), partitionState(pr))
	return p
}

func partitionState(pr metadata.PartitionRecord) replica.PartitionState {
	return replica.PartitionState{
		Leader: pr.Leader, LeaderEpoch: pr.LeaderEpoch, PartitionEpoch: pr.PartitionEpoch,
		Replicas: pr.Replicas, ISR: pr.ISR,
	}
}

func (p *Partition) flushPolicy(cfg topicconfig.Config) replica.FlushPolicy {
	return replica.FlushPolicy{SyncEachAppend: cfg.SyncEachAppend(), Interval: cfg.FlushInterval(p.brokerFlushInterval)}
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
	p.cfg = cfg
	now := p.clock.Now()
	p.act(p.core.SetPartition(now, partitionState(pr)))
	p.act(p.core.SetPolicy(now, p.flushPolicy(cfg)))
}

// act carries out the core's decisions. p.mu is held.
func (p *Partition) act(out replica.Output) {
	if out.HighWatermarkMoved {
		close(p.hwMoved)
		p.hwMoved = make(chan struct{})
		if p.sig != nil {
			p.sig.broadcast()
		}
	}
	if out.Flush && !p.closed {
		p.flushers.Add(1)
		go p.flush()
	}
	p.arm()
}

// flush runs the fsyncs the core asks for, one at a time, until it asks
// for no more: each covers every append made before it started, so
// appends that arrive while one runs share the next (group commit).
func (p *Partition) flush() {
	defer p.flushers.Done()
	for {
		failpoints.Eval(failpoints.BeforeFsync, p.node)
		err := p.logErr(p.log.Sync())
		p.mu.Lock()
		if err != nil {
			switch {
			case errors.Is(err, storage.ErrResourceExhausted):
				// Out of file descriptors, not a failed disk: the
				// log is intact; try again shortly (produces wait).
				p.core.FlushPostponed(p.clock.Now().Add(flushRetryDelay))
				p.arm()
			case !errors.Is(err, storage.ErrClosed):
				p.fail(err)
			}
			p.mu.Unlock()
			return
		}
		out := p.core.Flushed(p.clock.Now(), p.log.SyncedOffset())
		again := out.Flush
		out.Flush = false // this goroutine runs it
		p.act(out)
		p.mu.Unlock()
		if !again {
			return
		}
	}
}

// flushRetryDelay is how long a partition waits before it tries again an
// fsync that could not run for want of a file descriptor
// (storage.ErrResourceExhausted).
const flushRetryDelay = 200 * time.Millisecond

// fail records a failed fsync: the core commits nothing more, and the
// produces waiting for the high watermark get err. p.mu is held.
func (p *Partition) fail(err error) {
	p.core.FlushFailed()
	if p.failed == nil {
		p.failed = err
	}
	close(p.hwMoved)
	p.hwMoved = make(chan struct{})
}

// arm points the partition's timer at the core's next deadline. p.mu is
// held.
func (p *Partition) arm() {
	at, ok := p.core.NextDeadline()
	p.alarm.Set(at, ok && !p.closed, p.tick)
}

// tick runs the core's due deadlines.
func (p *Partition) tick(seq uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || !p.alarm.Fired(seq) {
		return
	}
	p.act(p.core.Tick(p.clock.Now()))
}

// LeaderEpoch is the partition's current leader epoch.
func (p *Partition) LeaderEpoch() int32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.core.LeaderEpoch()
}

// CheckLeaderEpoch validates a client's CurrentLeaderEpoch (KIP-320): -1
// means the client does not know it and skips the check.
func (p *Partition) CheckLeaderEpoch(current int32) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.core.CheckLeaderEpoch(current)
}

// HighWatermark is the offset below which records are committed and visible
// to consumers.
func (p *Partition) HighWatermark() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.core.HighWatermark()
}

// LogStartOffset is the first offset still in the log.
func (p *Partition) LogStartOffset() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.core.LogStartOffset()
}

// LogEndOffset is the offset the next append gets.
func (p *Partition) LogEndOffset() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.core.LogEndOffset()
}

// Appended is the outcome of Append.
type Appended struct {
	storage.AppendInfo
	// Duplicate says the batches were an idempotent producer's retry of
	// batches already in the log: nothing was appended, and the offsets
	// are the original ones (waiting for them to be committed still
	// applies).
	Duplicate bool
	// unwritten: failpoints.AckWithoutAppend answered the batches without
	// writing them; there is nothing to wait for.
	unwritten bool
}

// Produce validates and appends the records of one partition of a client's
// Produce request of the given version: Kafka's validation of a client's
// batch (recordbatch.ValidateProduced: one v2 batch, CRC, counts, codec,
// no control batch, every record walked, within a decompression bound),
// max.message.bytes, then the producer state. It takes records over:
// storage rewrites offsets in place, so the caller must not reuse them. It
// returns once the batch has offsets; the flush policy then makes it
// durable and committed whatever the producer's acks, and WaitCommitted
// waits for that. now is the broker clock's reading, used for
// LogAppendTime.
//
// The validation, which decompresses a compressed batch, runs before the
// append lock is taken and holds no lock: a batch that is slow to check
// holds up no other produce, to this partition or another.
func (p *Partition) Produce(records []byte, now time.Time, version int16) (Appended, error) {
	return p.append(records, now, func(cfg topicconfig.Config) ([]storage.Batch, error) {
		if testHookValidating != nil {
			testHookValidating(p)
		}
		h, err := recordbatch.ValidateProduced(records, version, cfg.Compacts())
		if err != nil {
			return nil, err
		}
		return []storage.Batch{h}, nil
	})
}

// testHookValidating, when set by a test, is called by Produce as it starts
// validating a batch.
var testHookValidating func(*Partition)

// Append validates and appends batches the broker wrote itself (the group
// coordinator's, Kafka's AppendOrigin.COORDINATOR): one or more batches
// with dense offsets, CRCs, and records that parse and, on a compacted
// topic, have keys. The rules of a client's batch (one batch, no control
// batch) are Produce's. Otherwise it is Produce.
func (p *Partition) Append(records []byte, now time.Time) (Appended, error) {
	return p.append(records, now, func(cfg topicconfig.Config) ([]storage.Batch, error) {
		batches, err := storage.ParseBatches(records)
		if err != nil {
			return nil, err
		}
		for _, b := range batches {
			if b.Control() {
				continue
			}
			if err := recordbatch.CheckRecords(records[b.Position:b.Position+b.Size], b, cfg.Compacts()); err != nil {
				return nil, err
			}
		}
		return batches, nil
	})
}

// append checks the size against max.message.bytes, validates records
// with validate (without a lock), then checks producer state and appends
// under appendMu.
func (p *Partition) append(records []byte, now time.Time, validate func(topicconfig.Config) ([]storage.Batch, error)) (Appended, error) {
	p.mu.Lock()
	cfg, epoch, closed, failed := p.cfg, p.core.LeaderEpoch(), p.closed, p.failed
	p.mu.Unlock()
	if closed {
		return Appended{}, ErrStopped
	}
	if failed != nil {
		return Appended{}, failed
	}
	// Kafka checks each batch's size against max.message.bytes
	// (RecordTooLargeException); a client's request holds one batch.
	if int64(len(records)) > int64(cfg.MaxMessageBytes) {
		return Appended{}, fmt.Errorf("%w: %d bytes > %d", ErrMessageTooLarge, len(records), cfg.MaxMessageBytes)
	}
	batches, err := validate(cfg)
	if err != nil {
		return Appended{}, err
	}
	logAppendTime := int64(-1)
	if cfg.MessageTimestampType == "LogAppendTime" {
		logAppendTime = now.UnixMilli()
	}
	p.appendMu.Lock()
	p.producers.maybeExpire(now)
	orig, dup, err := p.producers.check(batches)
	if failpoints.Enabled && dup {
		dup = !plantedSkipIdempotenceCheck(p.node)
	}
	if err != nil || dup {
		p.appendMu.Unlock()
		if err != nil {
			return Appended{}, err
		}
		return Appended{AppendInfo: orig, Duplicate: true}, nil
	}
	if failpoints.Enabled {
		if info, ok := p.plantedAckWithoutAppend(batches, logAppendTime, now); ok {
			p.appendMu.Unlock()
			return Appended{AppendInfo: info, unwritten: true}, nil
		}
	}
	info, err := p.log.AppendBatches(records, batches, epoch, logAppendTime)
	err = p.logErr(err)
	if err == nil {
		for _, b := range info.Batches {
			if b.ProducerID >= 0 {
				p.producers.apply(b, now)
			}
		}
		// Still under appendMu, so the core sees log ends in order.
		p.mu.Lock()
		p.act(p.core.Appended(now, info.LastOffset+1))
		p.mu.Unlock()
	}
	p.appendMu.Unlock()
	if err != nil {
		return Appended{}, err
	}
	if failpoints.Enabled {
		info = p.plantedReuseOffsets(info)
	}
	return Appended{AppendInfo: info}, nil
}

// WaitCommitted waits until the appended batches are committed: below the
// high watermark, which under the default flush policy means on disk too.
// It honours ctx and timeout (the produce request's timeout →
// REQUEST_TIMED_OUT).
func (p *Partition) WaitCommitted(ctx context.Context, a Appended, timeout time.Duration) error {
	if failpoints.Enabled && a.unwritten {
		return nil
	}
	target := a.LastOffset + 1
	var timer clock.Timer
	for {
		p.mu.Lock()
		hw, ch, closed, failed := p.core.HighWatermark(), p.hwMoved, p.closed, p.failed
		p.mu.Unlock()
		switch {
		case hw >= target:
			return nil
		case failed != nil:
			// These batches are never acknowledged: the log failed,
			// and stays failed (storage.ErrLogFailed).
			return failed
		case closed:
			return ErrStopped
		}
		if timer == nil {
			timer = p.clock.NewTimer(timeout)
			defer timer.Stop()
		}
		select {
		case <-ch:
		case <-timer.C():
			return ErrTimeout
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Read returns whole stored batches from offset up to the high watermark
// (KIP-74: at least one batch when minOne, even past maxBytes), and the
// high watermark it read under. Between the high watermark and the log end
// the answer is empty: those records are not committed yet. Release the
// records with ReleaseRead once they are written out.
func (p *Partition) Read(offset int64, maxBytes int, minOne bool) (records []byte, hw int64, err error) {
	p.mu.Lock()
	until, err := p.core.ReadBound(offset)
	hw = p.core.HighWatermark()
	p.mu.Unlock()
	err = coreErr(err)
	if failpoints.Enabled {
		until, hw = p.plantedFetchStaleHighWatermark(offset, until, hw)
	}
	if err != nil {
		return nil, hw, err
	}
	if until <= offset {
		return nil, hw, nil
	}
	records, err = p.log.Read(offset, until, maxBytes, minOne)
	return records, hw, err
}

// ReleaseRead hands records returned by Read back to the read buffer pool.
func ReleaseRead(records []byte) { storage.ReleaseReadBuffer(records) }

// Flush makes everything appended durable now, whatever the flush policy
// (shutdown, tests).
func (p *Partition) Flush() error {
	failpoints.Eval(failpoints.BeforeFsync, p.node)
	err := p.logErr(p.log.Sync())
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		if !errors.Is(err, storage.ErrClosed) && !errors.Is(err, storage.ErrResourceExhausted) {
			p.fail(err)
		}
		return err
	}
	p.act(p.core.Synced(p.clock.Now(), p.log.SyncedOffset()))
	return nil
}

// logErr returns err, first telling the manager when it says the log
// failed (storage.ErrLogFailed: an fsync or a write failed, and the log
// refuses writes until reopened): the broker stops on the first such
// failure (Manager.OnStorageFailure). Every call that writes or syncs the
// log passes its error through here. storage.ErrResourceExhausted (no file
// descriptor free) is not such a failure: the request fails retriably and
// the broker goes on.
func (p *Partition) logErr(err error) error {
	if err != nil && p.onLogFailure != nil && errors.Is(err, storage.ErrLogFailed) {
		p.onLogFailure(p, err)
	}
	return err
}

// DeleteRecordsBefore moves the log start offset (DeleteRecords). offset -1
// means the high watermark. It returns the new log start offset.
func (p *Partition) DeleteRecordsBefore(offset int64) (int64, error) {
	p.mu.Lock()
	to, err := p.core.DeleteRecordsBound(offset)
	p.mu.Unlock()
	if err != nil {
		return 0, coreErr(err)
	}
	if to > p.log.LogStartOffset() {
		if err := p.logErr(p.log.SetLogStartOffset(to)); err != nil {
			return 0, err
		}
	}
	return p.logStartMoved(), nil
}

// logStartMoved tells the core where the log starts now (retention,
// DeleteRecords) and returns it.
func (p *Partition) logStartMoved() int64 {
	start := p.log.LogStartOffset()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.core.LogStartMoved(start)
	return p.core.LogStartOffset()
}

func (p *Partition) close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.alarm.Stop()
	close(p.hwMoved)
	p.hwMoved = make(chan struct{})
	p.mu.Unlock()
	// An fsync in flight finishes before its files close.
	p.flushers.Wait()
	return p.log.Close()
}
