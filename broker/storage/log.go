package storage

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/ordo-broker/ordo/broker/recordbatch"
)

// Log is one partition's log. It is safe for concurrent use: appends are
// serialized, reads copy a consistent view under a short read lock and read
// the files without it, and fsyncs run outside every lock but syncMu.
type Log struct {
	fsys fs.FS
	dir  string
	now  func() time.Time

	commit groupCommit

	// syncMu is held by a sync round and by the operations that delete or
	// rewrite bytes (Truncate, SetLogStartOffset, Close), so that a round
	// never fsyncs a file being removed and never reports stale progress.
	// recoveryPoint is guarded by syncMu.
	syncMu        sync.Mutex
	recoveryPoint int64

	// cleanMu serializes compaction passes (cleaner.go); it is taken before
	// syncMu and never while holding another of the log's locks.
	cleanMu sync.Mutex
	// filesMu is held for reading by a read while it reads the segment
	// files it found under mu (see retry), and for writing by the cleaner's
	// swap to close the files of the segments it replaced: a read that
	// started before a swap finishes on the old files, whose records were
	// in the log when it started, instead of failing or retrying.
	filesMu sync.RWMutex

	mu       sync.RWMutex
	cfg      Config
	segments []*segment // by base offset; the last one is active
	logStart int64
	epochs   epochCache
	synced   int64  // SyncedOffset
	dirDirty bool   // entries created or removed since the last SyncDir
	gen      uint64 // bumped whenever bytes a reader may be reading go away
	closed   bool
	// recovery is what Open found and did; set before Open returns.
	recovery Recovery

	// failed is set by a failed fsync or write (it wraps ErrLogFailed and
	// the cause). After an fsync error the kernel may have dropped the
	// dirty pages, so nothing more is promised: the log refuses writes
	// until it is reopened and recovered (Kafka takes the log directory
	// offline).
	failed error
}

// AppendInfo describes an append.
type AppendInfo struct {
	FirstOffset int64
	LastOffset  int64
	// MaxTimestamp is the largest batch MaxTimestamp appended, and
	// OffsetOfMaxTimestamp the last offset of the first batch carrying it
	// (Kafka's shallow offset; MaxTimestamp() resolves the exact record).
	MaxTimestamp         int64
	OffsetOfMaxTimestamp int64
	// LogAppendTime is the timestamp the broker stamped, -1 for CreateTime.
	LogAppendTime int64
	// Batches are the appended batches as stored (offsets, epoch and
	// timestamps rewritten; Position relative to the appended bytes).
	Batches []Batch
}

// Options say how Open opens a log.
type Options struct {
	// Now is the clock for segment.ms and for timing recovery; nil means
	// time.Now.
	Now func() time.Time
	// CleanShutdown says the log was last closed by Close and nothing has
	// written to it since: the broker knows it from the clean-shutdown
	// marker it writes after closing every log (Kafka's
	// .kafka_cleanshutdown). Recovery then trusts the active segment as it
	// trusts the segments below the recovery point: it checks the indexes
	// and the batches after the last index entry instead of rescanning
	// the whole segment. If a check fails, the segment is rescanned and
	// cut as after a crash: the marker saves work, it never overrides
	// what the bytes say.
	CleanShutdown bool
}

// Open opens (creating if absent) the log in dir and recovers it, as after
// an unclean shutdown; see recover. now is the clock for segment.ms; nil
// means time.Now. Zero Config fields take their defaults.
func Open(fsys fs.FS, dir string, cfg Config, now func() time.Time) (*Log, error) {
	return OpenWith(fsys, dir, cfg, Options{Now: now})
}

// OpenWith is Open with options. Recovery says what it found and did.
func OpenWith(fsys fs.FS, dir string, cfg Config, opts Options) (*Log, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	if err := fs.MkdirAllDurable(fsys, dir); err != nil {
		return nil, err
	}
	l := &Log{fsys: fsys, dir: dir, now: now, cfg: cfg.normalized()}
	if err := l.recover(opts.CleanShutdown); err != nil {
		for _, s := range l.segments {
			s.close()
		}
		return nil, fmt.Errorf("storage: open %s: %w", dir, err)
	}
	// Make what recovery found (and cut) durable, so SyncedOffset starts at
	// the log end offset and the recovery point moves past rescanned
	// segments.
	if err := l.syncRound(); err != nil {
		l.closeFiles(false)
		return nil, fmt.Errorf("storage: open %s: %w", dir, err)
	}
	l.recovery.Segments = len(l.segments)
	l.recovery.LogStartOffset, l.recovery.LogEndOffset = l.logStart, l.logEnd()
	l.recovery.Duration = now().Sub(start)
	return l, nil
}

// Recovery says what Open found and did.
func (l *Log) Recovery() Recovery { return l.recovery }

// SetConfig applies a changed topic configuration from the next append on.
func (l *Log) SetConfig(cfg Config) {
	l.mu.Lock()
	l.cfg = cfg.normalized()
	l.mu.Unlock()
}

// Append validates records (one or more v2 batches, as ParseBatches),
// assigns them offsets from the log end offset, stamps the partition leader
// epoch, and with logAppendTime >= 0 (message.timestamp.type=LogAppendTime)
// sets the timestamp-type bit and MaxTimestamp and recomputes the CRC. The
// caller's buffer is not modified: the rewriting happens in a copy. A new
// epoch goes into the leader epoch cache (and its checkpoint) before the
// batch is written. It rolls segments by size and time, and does not fsync.
func (l *Log) Append(records []byte, epoch int32, logAppendTime int64) (AppendInfo, error) {
	batches, err := ParseBatches(records)
	if err != nil {
		return AppendInfo{}, err
	}
	return l.AppendBatches(append([]byte(nil), records...), batches, epoch, logAppendTime)
}

// AppendBatches is Append for a caller that has already validated records
// with ParseBatches (the partition does, to check sizes and producer
// sequences first) and hands records over: batches must be
// ParseBatches(records)' result, so the CRCs are not computed a second
// time, and records is rewritten in place (base offsets, epochs), so the
// produce path copies nothing. The caller must not use records afterwards.
func (l *Log) AppendBatches(records []byte, batches []Batch, epoch int32, logAppendTime int64) (AppendInfo, error) {
	if len(batches) == 0 {
		return AppendInfo{}, fmt.Errorf("%w: no batches", ErrCorruptBatch)
	}
	batches = append([]Batch(nil), batches...) // offsets are rewritten below
	buf := records

	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writable(); err != nil {
		return AppendInfo{}, err
	}
	if latest := l.epochs.latest(); epoch < latest {
		return AppendInfo{}, fmt.Errorf("%w: %d < %d", ErrFencedLeaderEpoch, epoch, latest)
	}
	next := l.logEnd()
	for i := range batches {
		b := &batches[i]
		raw := buf[b.Position : b.Position+b.Size]
		b.BaseOffset = next
		recordbatch.SetBaseOffset(raw, next)
		b.PartitionLeaderEpoch = epoch
		recordbatch.SetLeaderEpoch(raw, epoch)
		if logAppendTime >= 0 {
			recordbatch.SetLogAppendTime(raw, logAppendTime)
			b.Attributes |= recordbatch.AttrLogAppendTime
			b.MaxTimestamp = logAppendTime
		}
		next = b.LastOffset() + 1
	}
	prev := l.epochs.entries
	if l.epochs.assign(epoch, batches[0].BaseOffset) {
		if err := l.writeEpochsOr(prev); err != nil {
			return AppendInfo{}, err
		}
	}
	info, err := l.appendLocked(buf, batches)
	info.LogAppendTime = -1
	if logAppendTime >= 0 {
		info.LogAppendTime = logAppendTime
	}
	return info, err
}

// AppendAsFollower appends batches copied from the leader as they are:
// offsets and epochs already assigned. The first batch must start at the log
// end offset and the rest must follow it (ErrOffsetMismatch). Each batch's
// epoch enters the leader epoch cache. It does not fsync.
func (l *Log) AppendAsFollower(records []byte) (AppendInfo, error) {
	batches, err := recordbatch.ParseAll(records) // a leader's log may be compacted
	if err != nil {
		return AppendInfo{}, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writable(); err != nil {
		return AppendInfo{}, err
	}
	next := l.logEnd()
	changed := false
	prev := l.epochs.entries
	for _, b := range batches {
		if b.BaseOffset != next {
			return AppendInfo{}, fmt.Errorf("%w: batch at offset %d, expected %d", ErrOffsetMismatch, b.BaseOffset, next)
		}
		next = b.LastOffset() + 1
		if b.PartitionLeaderEpoch > l.epochs.latest() {
			changed = l.epochs.assign(b.PartitionLeaderEpoch, b.BaseOffset) || changed
		}
	}
	if changed {
		if err := l.writeEpochsOr(prev); err != nil {
			return AppendInfo{}, err
		}
	}
	info, err := l.appendLocked(records, batches)
	info.LogAppendTime = -1
	return info, err
}

// appendLocked writes whole batches (offsets final) at the log end, rolling
// first if the active segment is full or old.
func (l *Log) appendLocked(buf []byte, batches []Batch) (AppendInfo, error) {
	if int64(len(buf)) > math.MaxInt32 {
		return AppendInfo{}, fmt.Errorf("%w: %d bytes in one append", ErrCorruptBatch, len(buf))
	}
	first, last := batches[0].BaseOffset, batches[len(batches)-1].LastOffset()
	now := l.now()
	if s := l.active(); s.size > 0 && (s.size+int64(len(buf)) > l.cfg.SegmentBytes ||
		!s.fits(last) || now.Sub(s.firstAppend) > l.cfg.SegmentMs) {
		if err := l.roll(first); err != nil {
			// A roll that could not open the new segment's files
			// leaves the active segment as it was (finish is
			// idempotent); the next append rolls again.
			return AppendInfo{}, l.failOrRetry(err)
		}
	}
	if err := l.active().append(buf, batches, l.cfg.IndexIntervalBytes, now); err != nil {
		return AppendInfo{}, l.fail(err)
	}
	info := AppendInfo{FirstOffset: first, LastOffset: last, MaxTimestamp: -1, OffsetOfMaxTimestamp: -1, Batches: batches}
	for _, b := range batches {
		if b.MaxTimestamp > info.MaxTimestamp {
			info.MaxTimestamp, info.OffsetOfMaxTimestamp = b.MaxTimestamp, b.LastOffset()
		}
	}
	return info, nil
}

// roll closes the active segment for appends and starts one at base. The new
// files' names become durable with the next Sync.
func (l *Log) roll(base int64) error {
	if err := l.active().finish(); err != nil {
		return err
	}
	s, err := openSegment(l.fsys, l.dir, base, true)
	if err != nil {
		return err
	}
	s.syncedSize = -1 // its (empty) creation must be synced too
	l.segments = append(l.segments, s)
	l.dirDirty = true
	return nil
}

func (l *Log) active() *segment { return l.segments[len(l.segments)-1] }

// logEnd is the log end offset. l.mu is held.
func (l *Log) logEnd() int64 { return l.active().next }

// writable says why the log cannot take writes, if it cannot. l.mu is held.
func (l *Log) writable() error {
	if l.closed {
		return ErrClosed
	}
	return l.failed
}

// fail marks the log failed by err (see Log.failed) and returns the log's
// failure: ErrLogFailed wrapping the first cause. l.mu is held.
func (l *Log) fail(err error) error {
	if l.failed == nil {
		l.failed = fmt.Errorf("%w: %s: %w", ErrLogFailed, l.dir, err)
	}
	return l.failed
}

// failOrRetry is fail for a step that changes nothing when it cannot
// start: when err is resource exhaustion (resourceExhausted: no file
// descriptor, as with 1,100 idle connections against a 1,024 limit) it
// returns ErrResourceExhausted and leaves the log writable, because a full
// descriptor table is the process's trouble, not the disk's; anything else
// fails the log. Steps that leave the log half changed when they fail (the
// cleaner's swap, truncation) use fail. l.mu is held.
func (l *Log) failOrRetry(err error) error {
	if resourceExhausted(err) {
		return fmt.Errorf("%w: %s: %w", ErrResourceExhausted, l.dir, err)
	}
	return l.fail(err)
}

// writeEpochs persists the leader epoch cache. l.mu is held: epoch changes
// are rare (a leader election), and a batch of a new epoch must not be
// durable before the epoch is.
func (l *Log) writeEpochs() error {
	return writeFileAtomic(l.fsys, l.dir, leaderEpochCheckpointFile, l.epochs.encode())
}

// writeEpochsOr persists the leader epoch cache after assign changed it
// from prev. When the checkpoint cannot be written for want of a file
// descriptor, the cache goes back to prev (assign never changes prev's
// array), so the epoch is assigned again, and written, by the next
// append; otherwise a batch of the new epoch could become durable while
// the checkpoint lacked it. l.mu is held.
func (l *Log) writeEpochsOr(prev []epochEntry) error {
	err := l.writeEpochs()
	if err == nil {
		return nil
	}
	if resourceExhausted(err) {
		l.epochs.entries = prev
	}
	return l.failOrRetry(err)
}

// segmentFor returns the index of the segment that holds offset. l.mu is
// held.
func (l *Log) segmentFor(offset int64) int {
	i := sort.Search(len(l.segments), func(i int) bool { return l.segments[i].base > offset })
	return max(i-1, 0)
}

// LogStartOffset is the first offset readable.
func (l *Log) LogStartOffset() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.logStart
}

// LogEndOffset is the offset the next appended record will get.
func (l *Log) LogEndOffset() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.logEnd()
}

// SyncedOffset is the end offset known durable: every offset below it
// survives power loss.
func (l *Log) SyncedOffset() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.synced
}

// LatestEpoch is the latest leader epoch in the cache, -1 if none.
func (l *Log) LatestEpoch() int32 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.epochs.latest()
}

// EndOffsetForEpoch answers OffsetsForLeaderEpoch (KIP-101, KIP-279): the
// largest known epoch <= epoch and its end offset, which is the start offset
// of the next larger epoch, or the log end offset for the latest epoch.
// Following Kafka, an epoch below the earliest known one returns (epoch,
// start of the earliest known epoch), and one above the latest, or an empty
// cache, returns (-1, -1).
func (l *Log) EndOffsetForEpoch(epoch int32) (foundEpoch int32, endOffset int64) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.epochs.endOffsetFor(epoch, l.logEnd())
}

// AssignEpoch records that leader epoch epoch starts at the log end offset,
// durably, as a new leader does before its first append (Kafka's makeLeader).
// An epoch older than the latest is ErrFencedLeaderEpoch. As in Kafka, an
// epoch with no records yet does not survive a restart: recovery drops the
// epochs that start at the log end.
func (l *Log) AssignEpoch(epoch int32) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writable(); err != nil {
		return err
	}
	if latest := l.epochs.latest(); epoch < latest {
		return fmt.Errorf("%w: %d < %d", ErrFencedLeaderEpoch, epoch, latest)
	}
	prev := l.epochs.entries
	if l.epochs.assign(epoch, l.logEnd()) {
		return l.writeEpochsOr(prev)
	}
	return nil
}

// Size is the total bytes of the segments.
func (l *Log) Size() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var n int64
	for _, s := range l.segments {
		n += s.size
	}
	return n
}

// Close fsyncs what was appended, as a clean shutdown does, and the active
// segment's indexes (so a clean restart can trust them, see
// Options.CleanShutdown), and closes the files. Later calls return
// ErrClosed.
func (l *Log) Close() error {
	err := l.Sync()
	if errors.Is(err, ErrClosed) {
		return ErrClosed
	}
	return errors.Join(err, l.closeFiles(err == nil))
}

// closeFiles closes the log's files, first fsyncing the active segment's
// indexes with syncIndexes.
func (l *Log) closeFiles(syncIndexes bool) error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	var errs []error
	if s := l.active(); syncIndexes && l.failed == nil && !s.indexesSynced {
		if err := errors.Join(s.index.f.Sync(), s.timeIndex.f.Sync()); err != nil {
			errs = append(errs, l.fail(err))
		} else {
			s.indexesSynced = true
		}
	}
	l.closed = true
	l.gen++
	for _, s := range l.segments {
		errs = append(errs, s.close())
	}
	return errors.Join(errs...)
}

// Delete closes the log without syncing and removes its folder, durably.
func (l *Log) Delete() error {
	if err := l.closeFiles(false); err != nil && !errors.Is(err, ErrClosed) {
		return err
	}
	if err := l.fsys.RemoveAll(l.dir); err != nil {
		return err
	}
	return l.fsys.SyncDir(filepath.Dir(filepath.Clean(l.dir)))
}
