package partition

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/ordo-broker/ordo/broker/storage"
)

// Producer state: what makes an idempotent producer's retries harmless
// (KIP-98). Per producer id, a partition keeps the producer's epoch and the
// sequence numbers and offsets of its last producerWindow batches, as
// Kafka's ProducerStateManager and ProducerAppendInfo do. The state is
// derived from the batch headers in the log (producer id, epoch, base
// sequence, offsets), so it is rebuilt from the log on open and after a
// truncation (producerload.go) and needs no file of its own: whatever
// survives of the log, a restart, a crash or (later) replication carries the
// state with it.
//
// The rules, for a batch with a producer id (Kafka's ProducerAppendInfo):
//   - an epoch below the producer's: INVALID_PRODUCER_EPOCH (Kafka 2.7+
//     answers this rather than the fatal PRODUCER_FENCED);
//   - an epoch above it: the producer bumped its epoch (KIP-360) and
//     restarts its sequences at 0, anything else is
//     OUT_OF_ORDER_SEQUENCE_NUMBER; the window starts over;
//   - the same epoch: a batch whose first and last sequence match one in the
//     window is a duplicate, and is answered with the original offsets
//     without being appended again; otherwise the first sequence must follow
//     the last one (wrapping from MaxInt32 to 0), or the answer is
//     OUT_OF_ORDER_SEQUENCE_NUMBER;
//   - a producer the partition has no state for must start at sequence 0,
//     or the answer is UNKNOWN_PRODUCER_ID.
//
// The last rule is Kafka's from 0.11 to 2.4. KIP-360 (Kafka 2.5) made
// brokers accept any first sequence from a producer they have no state for,
// because Kafka's state could vanish with retention. Ordo keeps the
// stricter rule: a partition never starts a producer's window in the middle
// of its stream, so a batch that overtook an earlier, lost one is refused
// instead of silently appended out of order (the hole KAFKA-15591 closes in
// later Kafka for never-written partitions). Clients handle the code: kgo
// and the Java producer bump the epoch and restart at 0, without loss when
// the log start offset moved past what they had written.
//
// Epochs are only compared here, never checked against the producer id
// manager: the Java producer bumps its epoch locally (KIP-360) and the
// partition's state is the authority on which epoch is current.

// producerWindow is how many batches per producer are remembered for
// duplicate detection: Kafka's NUM_BATCHES_TO_RETAIN, which is why clients
// keep at most 5 requests in flight per connection with idempotence.
const producerWindow = 5

// producerIDExpiration is how long a producer's state is kept after its
// last batch: Kafka's producer.id.expiration.ms default (KIP-854). The
// state of an expired producer is dropped; its next batch with a sequence
// other than 0 gets UNKNOWN_PRODUCER_ID.
//
// Kafka measures the age by the last batch's timestamp, which the client
// sets, so a producer writing old timestamps is forgotten at once. Ordo
// measures it on its own clock from the last append while it runs, and
// falls back to batch timestamps only when it rebuilds the state from the
// log (producerload.go), which keeps no append times.
const producerIDExpiration = 24 * time.Hour

// expirationCheckInterval is how often appends look for expired producers:
// Kafka's producer.id.expiration.check.interval.ms default.
const expirationCheckInterval = 10 * time.Minute

// Errors for producer batches; handlers map them to Kafka codes.
var (
	ErrOutOfOrderSequence   = errors.New("out of order sequence number")
	ErrUnknownProducerID    = errors.New("the partition has no state for this producer id")
	ErrInvalidProducerEpoch = errors.New("producer epoch is older than the partition's")
	// ErrInvalidProducerBatch: a producer batch Kafka's validator refuses
	// (negative epoch or sequence with a producer id, duplicates mixed
	// with new batches in one payload).
	ErrInvalidProducerBatch = errors.New("invalid producer batch")
	// ErrTransactionalBatch: Ordo has no transactions yet, so no
	// transaction is open for the batch.
	ErrTransactionalBatch = errors.New("transactional batches are not supported")
)

// batchMetadata is what the window remembers of one appended batch.
type batchMetadata struct {
	firstSeq, lastSeq       int32
	firstOffset, lastOffset int64
	maxTimestamp            int64
}

// producerEntry is one producer's state in a partition.
type producerEntry struct {
	epoch   int16
	batches []batchMetadata // the last producerWindow batches, oldest first; never empty
	// lastAppend is the broker's clock at the last batch appended (or
	// when the state was rebuilt), for expiration.
	lastAppend time.Time
}

func (e *producerEntry) last() batchMetadata { return e.batches[len(e.batches)-1] }

// duplicateOf returns the window's batch with the same sequence range.
func (e *producerEntry) duplicateOf(firstSeq, lastSeq int32) (batchMetadata, bool) {
	for _, b := range e.batches {
		if b.firstSeq == firstSeq && b.lastSeq == lastSeq {
			return b, true
		}
	}
	return batchMetadata{}, false
}

// producerStates is a partition's producer state. It is not safe for
// concurrent use: the partition holds appendMu around check and append, so
// two in-flight batches can never both pass the same check.
type producerStates struct {
	entries     map[int64]*producerEntry
	lastExpired time.Time
}

func newProducerStates() *producerStates {
	return &producerStates{entries: map[int64]*producerEntry{}}
}

// lastSequence is the sequence of a batch's last record: Kafka's
// DefaultRecordBatch.incrementSequence, which wraps past MaxInt32 to 0.
func lastSequence(b storage.Batch) int32 {
	return int32((int64(b.BaseSequence) + int64(b.LastOffsetDelta)) % (math.MaxInt32 + 1))
}

// nextSequence is the sequence that follows seq.
func nextSequence(seq int32) int32 {
	if seq == math.MaxInt32 {
		return 0
	}
	return seq + 1
}

// checkBatch decides one client batch with a producer id against the
// producer's entry (nil when the partition has none). It returns the
// original batch when b is a duplicate.
func checkBatch(e *producerEntry, b storage.Batch) (dup batchMetadata, isDup bool, err error) {
	switch {
	case b.Transactional() || b.Control():
		return dup, false, fmt.Errorf("%w: producer id %d", ErrTransactionalBatch, b.ProducerID)
	case b.ProducerEpoch < 0 || b.BaseSequence < 0:
		return dup, false, fmt.Errorf("%w: producer id %d with epoch %d and sequence %d", ErrInvalidProducerBatch, b.ProducerID, b.ProducerEpoch, b.BaseSequence)
	}
	first, last := b.BaseSequence, lastSequence(b)
	if e == nil {
		if first != 0 {
			return dup, false, fmt.Errorf("%w: producer id %d, first sequence %d (a new producer starts at 0)", ErrUnknownProducerID, b.ProducerID, first)
		}
		return dup, false, nil
	}
	switch {
	case b.ProducerEpoch < e.epoch:
		return dup, false, fmt.Errorf("%w: producer id %d, epoch %d < %d", ErrInvalidProducerEpoch, b.ProducerID, b.ProducerEpoch, e.epoch)
	case b.ProducerEpoch > e.epoch:
		if first != 0 {
			return dup, false, fmt.Errorf("%w: producer id %d, new epoch %d must start at sequence 0, not %d", ErrOutOfOrderSequence, b.ProducerID, b.ProducerEpoch, first)
		}
		return dup, false, nil
	}
	if d, ok := e.duplicateOf(first, last); ok {
		return d, true, nil
	}
	if want := nextSequence(e.last().lastSeq); first != want {
		return dup, false, fmt.Errorf("%w: producer id %d, sequence %d, expected %d", ErrOutOfOrderSequence, b.ProducerID, first, want)
	}
	return dup, false, nil
}

// apply records a batch with a producer id whose offsets are final (the
// batch was appended at now, or is being replayed from the log).
func (s *producerStates) apply(b storage.Batch, now time.Time) {
	m := batchMetadata{
		firstSeq:     b.BaseSequence,
		lastSeq:      lastSequence(b),
		firstOffset:  b.BaseOffset,
		lastOffset:   b.LastOffset(),
		maxTimestamp: b.MaxTimestamp,
	}
	e := s.entries[b.ProducerID]
	switch {
	case e == nil:
		s.entries[b.ProducerID] = &producerEntry{epoch: b.ProducerEpoch, batches: []batchMetadata{m}, lastAppend: now}
		return
	case b.ProducerEpoch != e.epoch:
		// A new epoch starts a new window (replay never sees an older
		// epoch after a newer one: appends refuse those).
		e.epoch, e.batches = b.ProducerEpoch, e.batches[:0]
	case len(e.batches) == producerWindow:
		copy(e.batches, e.batches[1:])
		e.batches = e.batches[:producerWindow-1]
	}
	e.batches = append(e.batches, m)
	e.lastAppend = now
}

// check validates the producer batches of one produce payload in order, each
// as if the ones before it had been appended, so a payload is accepted or
// refused whole. When every batch is a duplicate it returns the original
// offsets (first offset of the first, last offset of the last) and dup;
// duplicates mixed with new batches are refused. Batches without a
// producer id are not checked.
func (s *producerStates) check(batches []storage.Batch) (orig storage.AppendInfo, dup bool, err error) {
	// pending holds, per producer, a copy of its entry advanced past the
	// payload's earlier batches (offsets unknown yet: -1).
	var pending map[int64]*producerEntry
	dups, producerBatches := 0, 0
	for _, b := range batches {
		if b.ProducerID < 0 {
			continue
		}
		producerBatches++
		e := s.entries[b.ProducerID]
		if p, ok := pending[b.ProducerID]; ok {
			e = p
		}
		d, isDup, err := checkBatch(e, b)
		if err != nil {
			return storage.AppendInfo{}, false, err
		}
		if isDup {
			if d.firstOffset < 0 {
				return storage.AppendInfo{}, false, fmt.Errorf("%w: producer id %d repeats sequence %d in one payload", ErrOutOfOrderSequence, b.ProducerID, b.BaseSequence)
			}
			if dups == 0 {
				orig.FirstOffset = d.firstOffset
			}
			orig.LastOffset = d.lastOffset
			dups++
			continue
		}
		if len(batches) > 1 { // later batches are checked against this one
			if pending == nil {
				pending = map[int64]*producerEntry{}
			}
			pending[b.ProducerID] = advanced(e, b)
		}
	}
	switch {
	case dups == 0:
		return storage.AppendInfo{}, false, nil
	case dups != producerBatches || producerBatches != len(batches):
		return storage.AppendInfo{}, false, fmt.Errorf("%w: duplicate and new batches in one produce payload", ErrInvalidProducerBatch)
	}
	orig.MaxTimestamp, orig.OffsetOfMaxTimestamp, orig.LogAppendTime = -1, -1, -1
	return orig, true, nil
}

// advanced returns a copy of e (nil: a new producer) with b added as a
// pending batch, whose offsets are not known yet (-1).
func advanced(e *producerEntry, b storage.Batch) *producerEntry {
	s := newProducerStates()
	if e != nil {
		s.entries[b.ProducerID] = &producerEntry{epoch: e.epoch, batches: slices.Clone(e.batches)}
	}
	s.apply(b, time.Time{})
	n := s.entries[b.ProducerID]
	n.batches[len(n.batches)-1].firstOffset, n.batches[len(n.batches)-1].lastOffset = -1, -1
	return n
}

// expire drops producers the broker has not appended for in
// producerIDExpiration.
func (s *producerStates) expire(now time.Time) {
	for id, e := range s.entries {
		if now.Sub(e.lastAppend) >= producerIDExpiration {
			delete(s.entries, id)
		}
	}
	s.lastExpired = now
}

// expireByTimestamp drops producers whose last batch is timestamped more
// than producerIDExpiration before now (Kafka's isProducerExpired): the
// only age a rebuilt state knows.
func (s *producerStates) expireByTimestamp(now time.Time) {
	cutoff := now.Add(-producerIDExpiration).UnixMilli()
	for id, e := range s.entries {
		if e.last().maxTimestamp < cutoff {
			delete(s.entries, id)
		}
	}
	s.lastExpired = now
}

// maybeExpire runs expire at most every expirationCheckInterval.
func (s *producerStates) maybeExpire(now time.Time) {
	if now.Sub(s.lastExpired) >= expirationCheckInterval {
		s.expire(now)
	}
}
