package storage

import (
	"errors"
	"fmt"
)

// Truncate removes every offset >= offset, as a follower does to the end
// offset of the leader's epoch (KIP-101). A batch is never split: the cut
// falls before the batch that holds offset, so the log end offset may end
// below offset if offset is inside a batch (in practice truncation points
// are batch boundaries). The epoch cache loses the epochs starting at or
// after the new end. An offset below the log start offset empties the log
// and starts it at offset (Kafka's truncateFullyAndStartAt). Truncate is
// durable when it returns, so that cut records cannot come back after a
// crash while the epoch cache says they are gone.
func (l *Log) Truncate(offset int64) error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writable(); err != nil {
		return err
	}
	if offset < 0 {
		return fmt.Errorf("%w: truncate to %d", ErrOffsetOutOfRange, offset)
	}
	if offset >= l.logEnd() {
		return nil
	}
	if offset < l.logStart {
		return l.failOn(l.truncateFullyAndStartAt(offset))
	}
	return l.failOn(l.truncateTo(offset))
}

// TruncateFullyAndStartAt empties the log and starts it at offset (a follower
// whose log end is below the leader's log start offset). Durable on return.
func (l *Log) TruncateFullyAndStartAt(offset int64) error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writable(); err != nil {
		return err
	}
	if offset < 0 {
		return fmt.Errorf("%w: start at %d", ErrOffsetOutOfRange, offset)
	}
	return l.failOn(l.truncateFullyAndStartAt(offset))
}

// failOn fails the log on an I/O error in the middle of a rewrite, whose
// state on disk is then unknown.
func (l *Log) failOn(err error) error {
	if err != nil {
		return l.fail(err)
	}
	return nil
}

// truncateTo does Truncate for logStart <= offset < logEnd. l.syncMu and
// l.mu are held.
func (l *Log) truncateTo(offset int64) error {
	i := l.segmentFor(offset)
	s := l.segments[i]
	if offset == s.base && i > 0 {
		// Drop the whole segment rather than leave an empty one behind.
		i--
		s = l.segments[i]
	}
	// The segment becomes active: recovery must rescan it from now on.
	if err := l.lowerRecoveryPoint(s.base); err != nil {
		return err
	}
	l.gen++
	var errs []error
	for _, t := range l.segments[i+1:] {
		errs = append(errs, t.remove(l.fsys, l.dir))
	}
	l.segments = l.segments[:i+1]
	l.dirDirty = true
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if offset < s.next {
		if err := s.truncateTo(offset, l.now()); err != nil {
			return err
		}
	}
	s.indexesSynced = false
	if err := errors.Join(s.log.Sync(), s.index.f.Sync(), s.timeIndex.f.Sync(), l.fsys.SyncDir(l.dir)); err != nil {
		return err
	}
	l.dirDirty = false
	s.syncedSize = s.size
	l.synced = min(l.synced, s.next)
	if l.epochs.truncateFromEnd(s.next) {
		return l.writeEpochs()
	}
	return nil
}

// truncateFullyAndStartAt deletes every segment and starts an empty log at
// offset. The new log start offset is made durable first, so that a crash
// in the middle leaves segments that recovery deletes as wholly below it.
// l.syncMu and l.mu are held (or the log is being opened).
func (l *Log) truncateFullyAndStartAt(offset int64) error {
	if err := writeFileAtomic(l.fsys, l.dir, logStartOffsetFile, encodeOffsetCheckpoint(offset)); err != nil {
		return err
	}
	if err := l.lowerRecoveryPoint(offset); err != nil {
		return err
	}
	l.gen++
	var errs []error
	for _, s := range l.segments {
		errs = append(errs, s.remove(l.fsys, l.dir))
	}
	l.segments = nil
	if err := errors.Join(errs...); err != nil {
		return err
	}
	s, err := openSegment(l.fsys, l.dir, offset, true)
	if err != nil {
		return err
	}
	l.segments = []*segment{s}
	l.logStart = offset
	l.synced = offset
	l.epochs.entries = nil
	if err := l.writeEpochs(); err != nil { // also SyncDir: the new segment and the removals
		return err
	}
	l.dirDirty = false
	if offset > l.recoveryPoint {
		// Nothing below offset exists any more.
		if err := writeFileAtomic(l.fsys, l.dir, recoveryPointFile, encodeOffsetCheckpoint(offset)); err != nil {
			return err
		}
		l.recoveryPoint = offset
	}
	return nil
}

// SetLogStartOffset moves the log start offset forward (DeleteRecords). It
// is durable before it returns. offset > LogEndOffset is
// ErrOffsetOutOfRange; an offset at or below the current start changes
// nothing. Segments wholly below the new start (except the active one) are
// deleted, and the epoch cache forgets the epochs below it.
func (l *Log) SetLogStartOffset(offset int64) error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writable(); err != nil {
		return err
	}
	if offset > l.logEnd() {
		return fmt.Errorf("%w: log start offset %d past log end offset %d", ErrOffsetOutOfRange, offset, l.logEnd())
	}
	if offset <= l.logStart {
		return nil
	}
	return l.setLogStartOffset(offset)
}

// setLogStartOffset does SetLogStartOffset for logStart < offset <= logEnd
// (retention.go calls it too). l.syncMu and l.mu are held.
func (l *Log) setLogStartOffset(offset int64) error {
	if err := writeFileAtomic(l.fsys, l.dir, logStartOffsetFile, encodeOffsetCheckpoint(offset)); err != nil {
		return l.failOrRetry(err) // nothing moved yet
	}
	l.logStart = offset
	if l.epochs.truncateFromStart(offset) {
		if err := l.writeEpochs(); err != nil {
			return l.fail(err)
		}
	}
	// Delete after the checkpoint is durable: if the deletions reach the
	// disk and the checkpoint does not, the log would start at a hole.
	n := 0
	for n < len(l.segments)-1 && l.segments[n].next <= offset {
		n++
	}
	if n == 0 {
		return nil
	}
	l.gen++
	var errs []error
	for _, s := range l.segments[:n] {
		errs = append(errs, s.remove(l.fsys, l.dir))
	}
	l.segments = append([]*segment(nil), l.segments[n:]...)
	l.dirDirty = true
	return l.failOn(errors.Join(errs...))
}
