// Package replica is the pure decision core of one partition replica on
// this broker. It owns the offsets that say what a partition holds and
// what clients may see: the log start offset, the log end offset, the
// flushed offset (everything below it is on disk), the high watermark
// (everything below it is committed and visible to consumers), and the
// leader and leader epoch (KIP-320 fencing). It decides when the log must
// be fsynced (the flush policy) and when the high watermark moves.
//
// It is pure, like the group state machine: no goroutines, clocks or I/O.
// The caller (package partition) tells it what happened to the log
// (Appended, Flushed, LogStartMoved), reads its decisions from the Output
// (fsync now; the high watermark moved, wake the waiters), arms one timer
// for NextDeadline and reports back with Tick. Handlers never decide
// visibility themselves: they ask the partition, which asks this core.
//
// As the partition's leader the core also keeps Kafka's view of the
// followers (leader.go): each one's log end offset as its fetches at the
// current leader epoch report it, when it was last caught up, the ISR and
// the ISR change in flight (KIP-497); the high watermark is the minimum
// acknowledged end over the maximal ISR. As a follower it decides where
// to truncate after a leader change (truncate.go, KIP-101, KIP-279).
package replica

import (
	"errors"
	"time"
)

// Errors the core answers with.
var (
	// ErrFencedLeaderEpoch: the request's leader epoch is older than
	// the replica's (KIP-320).
	ErrFencedLeaderEpoch = errors.New("leader epoch in the request is older than the broker's")
	// ErrUnknownLeaderEpoch: the request's leader epoch is newer than
	// the replica's: this broker has not heard of it yet (KIP-320).
	ErrUnknownLeaderEpoch = errors.New("leader epoch in the request is newer than the broker's")
	// ErrOffsetOutOfRange: the offset is below the log start offset or
	// past the log end offset.
	ErrOffsetOutOfRange = errors.New("offset out of range")
)

// FlushPolicy is when appended records are fsynced, and whether they
// must be before they count as committed.
type FlushPolicy struct {
	// SyncEachAppend: flush.messages=1, Ordo's default. Records count
	// toward the high watermark only once they are on disk, so an
	// acknowledged record survives a power loss. The core asks for an
	// fsync as soon as records are appended and none is in flight; the
	// records appended while one runs are covered by the next (group
	// commit), whatever the producer's acks.
	SyncEachAppend bool
	// Interval is the interval policy's bound (flush.messages > 1):
	// records are committed once appended, and fsynced at most Interval
	// after the first of them was (min(log.flush.scheduler.interval.ms,
	// flush.ms)). Zero means no deadline: only Flush requests from
	// outside (shutdown) sync them.
	Interval time.Duration
}

// Recovered is what the log holds when the replica is opened.
type Recovered struct {
	LogStartOffset int64
	LogEndOffset   int64
	// HighWatermark is where the high watermark starts (Kafka's
	// replication-offset-checkpoint); it is capped at the log end.
	HighWatermark int64
}

// Config is what a replica needs to know of its broker and topic.
type Config struct {
	// Node is this broker's id: the replica leads when the partition's
	// leader is Node.
	Node int32
	// ReplicaLagTimeMax is replica.lag.time.max.ms: a follower in the ISR
	// that has not caught up with the leader's log end for this long is
	// removed from it. Kafka's default is 30 s.
	ReplicaLagTimeMax time.Duration
	// MinInsyncReplicas is min.insync.replicas: below it, acks=all
	// produces are refused (NOT_ENOUGH_REPLICAS).
	MinInsyncReplicas int
}

// Output is what the caller must do after an input.
type Output struct {
	// Flush: fsync the log (everything appended so far), then report
	// Flushed with the offset the fsync made durable, or FlushFailed.
	// The core never asks for a second fsync before the first is
	// reported.
	Flush bool
	// HighWatermarkMoved: the high watermark moved forward; wake the
	// produce requests and fetches waiting for it.
	HighWatermarkMoved bool
	// AlterPartition, when set, is an ISR change for the controller
	// (AlterPartition, KIP-497). The core proposes one at a time; the
	// caller reports its outcome through SetPartition (the committed
	// partition state) or AlterPartitionFailed.
	AlterPartition *AlterPartition
}

// AlterPartition is a proposed ISR, made at the leader epoch and partition
// epoch the leader knows, so the controller can refuse a stale one.
type AlterPartition struct {
	LeaderEpoch    int32
	PartitionEpoch int32
	ISR            []int32
}

// Replica is the core of one partition replica on this broker.
type Replica struct {
	cfg         Config
	leader      int32
	leaderEpoch int32
	policy      FlushPolicy
	leaderState // when leader == cfg.Node (leader.go)

	logStart int64
	logEnd   int64
	flushed  int64 // the log is durable below it
	hw       int64 // committed below it

	flushing bool      // an fsync was asked for and not yet reported
	flushDue time.Time // interval policy: when unflushed records must be synced; zero when none wait
	retryAt  time.Time // a postponed fsync is asked for again then; zero when none is
	failed   bool      // an fsync failed: nothing more is committed
}

// New returns the core of a replica whose log was just opened, led by
// nobody until SetPartition says who leads. A log that was just recovered
// holds only what was on disk, so all of it is flushed.
func New(r Recovered, policy FlushPolicy, cfg Config) *Replica {
	return &Replica{
		cfg:      cfg,
		leader:   -1,
		policy:   policy,
		logStart: r.LogStartOffset,
		logEnd:   r.LogEndOffset,
		flushed:  r.LogEndOffset,
		hw:       min(max(r.HighWatermark, r.LogStartOffset), r.LogEndOffset),
	}
}

// Appended reports that the log end offset moved to logEnd (records were
// appended at now).
func (r *Replica) Appended(now time.Time, logEnd int64) Output {
	if logEnd <= r.logEnd {
		return Output{}
	}
	r.logEnd = logEnd
	// New records: under the per-append policy a postponed fsync is
	// tried again now; under the interval policy they have a deadline.
	r.retryAt = time.Time{}
	if !r.policy.SyncEachAppend && r.flushDue.IsZero() && r.policy.Interval > 0 {
		r.flushDue = now.Add(r.policy.Interval)
	}
	return r.decide()
}

// Flushed reports that the fsync asked for by Output.Flush completed and
// made the log durable below durableEnd.
func (r *Replica) Flushed(now time.Time, durableEnd int64) Output {
	r.flushing = false
	r.durable(now, durableEnd)
	return r.decide()
}

// Synced reports an fsync the caller ran on its own (a flush at shutdown,
// an explicit Flush): the log is durable below durableEnd. An fsync the
// core asked for stays in flight, and the core asks for no other until it
// is reported.
func (r *Replica) Synced(now time.Time, durableEnd int64) Output {
	r.durable(now, durableEnd)
	return r.decide()
}

func (r *Replica) durable(now time.Time, durableEnd int64) {
	if durableEnd > r.flushed {
		r.flushed = min(durableEnd, r.logEnd)
	}
	if r.flushed >= r.logEnd {
		r.flushDue = time.Time{}
		r.retryAt = time.Time{}
	} else if !r.policy.SyncEachAppend && r.policy.Interval > 0 && r.flushDue.IsZero() {
		// Records appended while the fsync ran: their own deadline.
		r.flushDue = now.Add(r.policy.Interval)
	}
}

// Truncated reports that the log was cut back to end (a follower
// truncating to its leader's epoch end, KIP-101): what lay past it is gone,
// from the flushed offset and the high watermark too.
func (r *Replica) Truncated(end int64) {
	r.logEnd = min(r.logEnd, end)
	r.flushed = min(r.flushed, r.logEnd)
	r.hw = min(r.hw, r.logEnd)
}

// FlushFailed reports that an fsync failed. The log refuses further
// writes (it failed for good); the core asks for no more fsyncs and
// commits nothing more, so what waits for the high watermark is never
// acknowledged.
func (r *Replica) FlushFailed() {
	r.flushing = false
	r.failed = true
	r.flushDue = time.Time{}
	r.retryAt = time.Time{}
}

// FlushPostponed reports that the fsync asked for by Output.Flush could
// not run for want of a resource of the process (no file descriptor free
// to open the log's directory): unlike FlushFailed, nothing was lost and
// the log still takes writes. The core asks for the fsync again at retryAt
// (through NextDeadline and Tick), or sooner with the next append. Meanwhile nothing more is committed under that
// policy, so produces wait, and time out (REQUEST_TIMED_OUT) if the
// shortage outlasts their timeout.
func (r *Replica) FlushPostponed(retryAt time.Time) {
	r.flushing = false
	if r.flushed < r.logEnd {
		r.retryAt = retryAt
	}
}

// Failed tells whether an fsync failed.
func (r *Replica) Failed() bool { return r.failed }

// NextDeadline is when Tick must next be called, and whether there is a
// deadline at all: the interval policy's fsync, and, on a leader, the
// moment the next ISR member falls behind for replica.lag.time.max.ms.
func (r *Replica) NextDeadline() (time.Time, bool) {
	var at time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (at.IsZero() || t.Before(at)) {
			at = t
		}
	}
	if !r.flushing {
		// While an fsync runs, its report (Flushed) decides what is
		// next: a deadline that passes meanwhile must not make the
		// caller's timer fire again and again.
		consider(r.flushDue)
		consider(r.retryAt)
	}
	if lag, ok := r.lagDeadline(); ok {
		consider(lag)
	}
	return at, !at.IsZero()
}

// Tick fires the deadlines due at now: the interval policy's fsync, the
// retry of a postponed one, and the ISR shrink of followers that lag (an
// AlterPartition).
func (r *Replica) Tick(now time.Time) Output {
	out := r.decide()
	if !r.retryAt.IsZero() && !now.Before(r.retryAt) {
		r.retryAt = time.Time{}
		if !r.flushing && !r.failed && r.flushed < r.logEnd {
			r.flushing = true
			out.Flush = true
		}
	}
	if !r.flushDue.IsZero() && !now.Before(r.flushDue) && !r.flushing && !r.failed {
		// The fsync covers everything appended so far; what is
		// appended while it runs gets its own deadline (Appended).
		r.flushing = true
		r.flushDue = time.Time{}
		out.Flush = true
	}
	if ap := r.shrinkDue(now); ap != nil {
		out.AlterPartition = ap
	}
	return out
}

// SetPolicy changes the flush policy (a topic config change).
func (r *Replica) SetPolicy(now time.Time, p FlushPolicy) Output {
	r.policy = p
	switch {
	case r.flushed >= r.logEnd || p.SyncEachAppend || p.Interval <= 0:
		r.flushDue = time.Time{}
	case r.flushDue.IsZero() || now.Add(p.Interval).Before(r.flushDue):
		r.flushDue = now.Add(p.Interval)
	}
	return r.decide()
}

// LogStartMoved reports that the log start offset moved (retention,
// DeleteRecords).
func (r *Replica) LogStartMoved(offset int64) {
	r.logStart = max(r.logStart, offset)
}

// decide asks for an fsync under the per-append policy, and moves the
// high watermark.
func (r *Replica) decide() Output {
	var out Output
	if r.policy.SyncEachAppend && !r.flushing && !r.failed && r.flushed < r.logEnd && r.retryAt.IsZero() {
		r.flushing = true
		out.Flush = true
	}
	if c, ok := r.highWatermarkCandidate(); ok && c > r.hw && !r.failed {
		r.hw = c
		out.HighWatermarkMoved = true
	}
	return out
}

// localEnd is the end this broker's replica acknowledges: its flushed
// offset under the per-append policy (a record counts only once on disk),
// its log end offset under the interval policy (committed once written,
// Kafka's default trade-off).
func (r *Replica) localEnd() int64 {
	if r.policy.SyncEachAppend {
		return r.flushed
	}
	return r.logEnd
}

// HighWatermark is the offset below which records are committed.
func (r *Replica) HighWatermark() int64 { return r.hw }

// LogEndOffset is the offset the next append gets.
func (r *Replica) LogEndOffset() int64 { return r.logEnd }

// LogStartOffset is the first offset still in the log.
func (r *Replica) LogStartOffset() int64 { return r.logStart }

// FlushedOffset is the offset below which the log is on disk.
func (r *Replica) FlushedOffset() int64 { return r.flushed }

// Leader is the partition's leader's node id.
func (r *Replica) Leader() int32 { return r.leader }

// LeaderEpoch is the partition's current leader epoch.
func (r *Replica) LeaderEpoch() int32 { return r.leaderEpoch }

// CheckLeaderEpoch validates a request's CurrentLeaderEpoch (KIP-320):
// -1 means the client does not know it and skips the check.
func (r *Replica) CheckLeaderEpoch(current int32) error {
	switch {
	case current < 0:
		return nil
	case current < r.leaderEpoch:
		return ErrFencedLeaderEpoch
	case current > r.leaderEpoch:
		return ErrUnknownLeaderEpoch
	}
	return nil
}

// ReadBound is where a consumer's read from offset must stop: records in
// [offset, until) are visible. Between the high watermark and the log end
// a read is not an error, just empty (until == offset): the records are
// there but not committed yet. Below the log start offset or past the log
// end it is ErrOffsetOutOfRange.
func (r *Replica) ReadBound(offset int64) (until int64, err error) {
	switch {
	case offset < r.logStart || offset > r.logEnd:
		return 0, ErrOffsetOutOfRange
	case offset >= r.hw:
		return offset, nil
	}
	return r.hw, nil
}

// Visible tells whether the record at offset is committed, so a lookup
// (ListOffsets by timestamp, max timestamp) may answer with it.
func (r *Replica) Visible(offset int64) bool {
	return offset >= r.logStart && offset < r.hw
}

// DeleteRecordsBound checks a DeleteRecords offset (-1: the high
// watermark) and returns the new log start offset it asks for: never past
// the high watermark, as Kafka refuses to delete what is not committed.
func (r *Replica) DeleteRecordsBound(offset int64) (int64, error) {
	if offset == -1 {
		offset = r.hw
	}
	if offset < 0 || offset > r.hw {
		return 0, ErrOffsetOutOfRange
	}
	return offset, nil
}
