package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/ordo-broker/ordo/broker/recordbatch"
)

// Recovery says what opening a log found and did, for the operator (the
// partition manager logs it, as Kafka's LogLoader does) and for tests.
type Recovery struct {
	// CleanShutdown: the log was opened with Options.CleanShutdown and its
	// active segment passed the checks, so nothing was rescanned for
	// torn writes.
	CleanShutdown bool
	// Segments is how many segments the log has after recovery.
	Segments int
	// SegmentsRescanned segments were read whole, every batch checked, and
	// their indexes rebuilt: after an unclean shutdown those from the
	// recovery point on (at least the active one), and any segment whose
	// indexes failed their check or that a compaction swap completed.
	// BytesRescanned are the bytes read doing so.
	SegmentsRescanned int
	BytesRescanned    int64
	// BytesChecked are the bytes read to check the segments recovery
	// trusts: the batches after each one's last index entry.
	BytesChecked int64
	// TruncatedBytes were cut: a torn or corrupt tail, and the segments
	// after it (their names reached the disk before their bytes did).
	// TruncatedRecords is how many records the batch headers readable in
	// those bytes claimed; a torn batch's header can outlive its records,
	// so it counts what was being written, not what was whole.
	TruncatedBytes   int64
	TruncatedRecords int64
	// SegmentsDeleted counts the segments deleted: those after a cut and
	// those wholly below the log start offset (a deletion that a crash
	// interrupted).
	SegmentsDeleted int
	// SwapsCompleted counts the compaction swaps a crash had interrupted.
	SwapsCompleted int
	// LogStartOffset and LogEndOffset are the log's bounds after recovery.
	LogStartOffset, LogEndOffset int64
	// Duration is how long Open took, by Options.Now.
	Duration time.Duration
}

// Recovered says whether opening the log had anything to recover: bytes to
// rescan, a tail to cut, segments to delete or a swap to complete.
func (r Recovery) Recovered() bool {
	return r.BytesRescanned > 0 || r.TruncatedBytes > 0 || r.SegmentsDeleted > 0 || r.SwapsCompleted > 0
}

// recover rebuilds the log's state from the folder after a clean or unclean
// stop, as Kafka's LogLoader does:
//
//   - a compaction swap that a crash interrupted is completed, and the
//     cleaner's unfinished .cleaned files are deleted (swap.go);
//   - leftovers go: temporary checkpoint files, index files without a log,
//     segments wholly below the log start offset (a DeleteRecords or full
//     truncation that crashed before its deletions were durable);
//   - segments below the recovery point were fully fsynced before it was
//     written: their indexes are sanity-checked (and rebuilt from the log if
//     missing or bad) and the batches after the last index entry are
//     validated; any bad byte there is real corruption, reported as
//     ErrCorruptLog;
//   - the last segment and every segment from the recovery point on may hold
//     writes that never reached the disk whole: each batch is validated
//     (length, magic 2, CRC, offsets continuing), the log is cut at the
//     first bad one or at a gap between segments, every later segment is
//     deleted, and their indexes are rebuilt;
//   - the leader epoch cache is loaded, epochs that start at or past the log
//     end (their records were lost) are dropped, and epochs seen in the rescanned batches are added (as
//     Kafka's LogSegment.recover does);
//   - a log start offset past the log end (the records it promised are
//     gone) empties the log and starts it there.
//
// After a clean shutdown (clean: see Options.CleanShutdown) the active
// segment is loaded as a segment below the recovery point is, and rescanned
// only if that fails. l.recovery counts the work.
func (l *Log) recover(clean bool) error {
	names, err := l.fsys.ReadDir(l.dir)
	if err != nil {
		return err
	}
	// A compaction swap interrupted by the crash is completed first, and
	// the cleaner's unfinished files deleted (swap.go).
	names, swapped, err := l.completeSwaps(names)
	if err != nil {
		return err
	}
	l.recovery.SwapsCompleted = len(swapped)
	bases, err := l.cleanDir(names)
	if err != nil {
		return err
	}
	logStart, _, err := readOffsetCheckpoint(l.fsys, l.dir, logStartOffsetFile)
	if err != nil {
		return err
	}
	l.recoveryPoint, _, err = readOffsetCheckpoint(l.fsys, l.dir, recoveryPointFile)
	if err != nil {
		return err
	}
	for len(bases) > 1 && bases[1] <= logStart {
		if err := l.removeSegmentFiles(bases[0]); err != nil {
			return err
		}
		l.recovery.SegmentsDeleted++
		bases = bases[1:]
	}
	// A new log (or one whose segments were all deleted): its one segment
	// is created empty, with nothing to scan or sync but its name.
	newLog := len(bases) == 0
	if newLog {
		bases = []int64{logStart}
		l.dirDirty = true
	}

	var seen epochCache // epochs of the rescanned batches, in order
	prevRescanned := false
	for i, base := range bases {
		if i > 0 {
			if prev := l.segments[i-1]; prev.next != base {
				if !prevRescanned {
					return fmt.Errorf("%w: segment %s ends at offset %d but the next starts at %d",
						ErrCorruptLog, segmentName(prev.base, logExt), prev.next, base)
				}
				// The previous segment lost an unsynced tail, so nothing
				// after it was ever synced: these are segments whose names
				// reached the disk before their bytes did.
				if err := l.removeCutSegments(bases[i:]); err != nil {
					return err
				}
				break
			}
		}
		s, err := openSegment(l.fsys, l.dir, base, newLog)
		if err != nil {
			return err
		}
		l.segments = append(l.segments, s)
		if newLog {
			break
		}
		last := i == len(bases)-1
		if swapped[base] && !last {
			if err := l.loadSwapped(s); err != nil {
				return err
			}
			prevRescanned = false
			continue
		}
		if !last && base < l.recoveryPoint {
			if err := l.loadDurable(s); err != nil {
				return err
			}
			prevRescanned = false
			continue
		}
		if last && clean {
			if ok, err := l.loadClean(s); err != nil {
				return err
			} else if ok {
				l.recovery.CleanShutdown = true
				prevRescanned = false
				continue
			}
		}
		cut, err := l.rescan(s, last, &seen)
		if err != nil {
			return err
		}
		prevRescanned = true
		if cut && !last {
			if err := l.removeCutSegments(bases[i+1:]); err != nil {
				return err
			}
			break
		}
	}
	l.recoveryPoint = min(l.recoveryPoint, l.active().base)

	if err := l.loadEpochs(&seen); err != nil {
		return err
	}
	l.logStart = max(logStart, l.segments[0].base)
	if l.logStart > l.logEnd() {
		return l.truncateFullyAndStartAt(l.logStart)
	}
	if l.epochs.truncateFromStart(l.logStart) {
		return l.writeEpochs()
	}
	return nil
}

// cleanDir removes leftovers and returns the base offsets of the segments,
// sorted.
func (l *Log) cleanDir(names []string) ([]int64, error) {
	logs := map[int64]bool{}
	for _, name := range names {
		if base, ok := parseSegmentName(name, logExt); ok {
			logs[base] = true
		}
	}
	for _, name := range names {
		orphan := false
		for _, ext := range []string{indexExt, timeIndexExt} {
			if base, ok := parseSegmentName(name, ext); ok && !logs[base] {
				orphan = true
			}
		}
		if orphan || strings.HasSuffix(name, tmpExt) {
			if err := l.fsys.Remove(filepath.Join(l.dir, name)); err != nil {
				return nil, err
			}
			l.dirDirty = true
		}
	}
	bases := make([]int64, 0, len(logs))
	for b := range logs {
		bases = append(bases, b)
	}
	sort.Slice(bases, func(i, j int) bool { return bases[i] < bases[j] })
	return bases, nil
}

// parseSegmentName reads the base offset from a segment file name.
func parseSegmentName(name, ext string) (int64, bool) {
	digits, ok := strings.CutSuffix(name, ext)
	if !ok || len(digits) != 20 {
		return 0, false
	}
	base, err := strconv.ParseInt(digits, 10, 64)
	return base, err == nil && base >= 0
}

// removeCutSegments deletes the segments after a cut, counting what they
// held as truncated.
func (l *Log) removeCutSegments(bases []int64) error {
	for _, b := range bases {
		name := filepath.Join(l.dir, segmentName(b, logExt))
		if f, err := l.fsys.OpenFile(name, os.O_RDONLY, 0); err == nil {
			if info, err := f.Stat(); err == nil {
				l.recovery.TruncatedBytes += info.Size()
				l.recovery.TruncatedRecords += headerRecords(f, 0, info.Size())
			}
			_ = f.Close()
		}
		if err := l.removeSegmentFiles(b); err != nil {
			return err
		}
		l.recovery.SegmentsDeleted++
	}
	return nil
}

// headerRecords adds up the record counts of the batch headers that parse
// in f's bytes [from, to), stopping at the first that does not: what a cut
// tail was holding, for the operator. It reads nothing but headers.
func headerRecords(f fs.File, from, to int64) int64 {
	var n int64
	hdr := make([]byte, recordbatch.HeaderSize)
	for pos := from; pos+recordbatch.HeaderSize <= to; {
		if k, _ := f.ReadAt(hdr, pos); k < len(hdr) {
			break
		}
		b, err := recordbatch.ParseHeader(hdr)
		if err != nil || b.NumRecords < 0 {
			break
		}
		n += int64(b.NumRecords)
		pos += int64(b.Size)
	}
	return n
}

func (l *Log) removeSegmentFiles(base int64) error {
	for _, ext := range []string{logExt, indexExt, timeIndexExt} {
		if err := l.fsys.Remove(filepath.Join(l.dir, segmentName(base, ext))); err != nil && !fs.IsNotExist(err) {
			return err
		}
	}
	l.dirDirty = true
	return nil
}

// loadDurable restores a segment below the recovery point from its indexes
// and its last batches. If either disagrees with the log, a full scan
// decides: a bad batch is corruption (ErrCorruptLog), otherwise the indexes
// were bad and are rebuilt.
func (l *Log) loadDurable(s *segment) error {
	checked, err := s.loadTail()
	l.recovery.BytesChecked += checked
	if err == nil {
		s.syncedSize, s.indexesSynced = s.size, true
		return nil
	}
	if !errors.Is(err, errBadIndex) && !isCorrupt(err) {
		return err
	}
	return l.rescanDurable(s)
}

// loadClean loads the active segment of a log that was closed cleanly as
// loadDurable loads a segment below the recovery point: from its indexes
// and the batches after the last index entry (Close fsynced all of them).
// ok is false if a check failed: the caller rescans the segment as after a
// crash.
func (l *Log) loadClean(s *segment) (ok bool, err error) {
	checked, err := s.loadTail()
	l.recovery.BytesChecked += checked
	if err != nil {
		if !errors.Is(err, errBadIndex) && !isCorrupt(err) {
			return false, err
		}
		return false, nil
	}
	s.syncedSize, s.indexesSynced = s.size, true
	if s.size > 0 {
		// segment.ms counts from the first batch's timestamp after a
		// restart, as scanAll has it.
		b, _, err := newScanner(s.log, 0, s.size, minWindow).next(false)
		if err != nil {
			if isCorrupt(err) {
				return false, nil
			}
			return false, err
		}
		s.firstAppend = l.now()
		if b.MaxTimestamp >= 0 {
			s.firstAppend = time.UnixMilli(b.MaxTimestamp)
		}
	}
	return true, nil
}

// rescanDurable scans a segment that was fsynced whole: any bad batch, or
// bytes after the last whole one, is corruption (ErrCorruptLog), never a
// torn tail; otherwise its indexes are rebuilt from it.
func (l *Log) rescanDurable(s *segment) error {
	corrupt, err := s.scanAll(l.cfg.IndexIntervalBytes, nil)
	if err != nil {
		return err
	}
	l.countRescan(s)
	if corrupt == nil {
		if info, err := s.log.Stat(); err != nil {
			return err
		} else if info.Size() != s.size {
			corrupt = fmt.Errorf("%w: %d bytes after the last whole batch", ErrCorruptBatch, info.Size()-s.size)
		}
	}
	if corrupt != nil {
		return fmt.Errorf("%w: segment %s: %w", ErrCorruptLog, segmentName(s.base, logExt), corrupt)
	}
	s.addFinalTimeEntry()
	if err := s.rebuildIndexFilesDurably(); err != nil {
		return err
	}
	s.syncedSize, s.indexesSynced = s.size, true
	return nil
}

// countRescan counts a whole-segment scan of a durable segment.
func (l *Log) countRescan(s *segment) {
	l.recovery.SegmentsRescanned++
	if info, err := s.log.Stat(); err == nil {
		l.recovery.BytesRescanned += info.Size()
	}
}

// rescan validates a segment that may hold torn writes, cuts it at the first
// bad batch (reporting cut), and rewrites its indexes. Its bytes count as
// unsynced until the sync that ends Open.
func (l *Log) rescan(s *segment, last bool, seen *epochCache) (cut bool, err error) {
	corrupt, err := s.scanAll(l.cfg.IndexIntervalBytes, func(b Batch) {
		if b.PartitionLeaderEpoch > seen.latest() {
			seen.assign(b.PartitionLeaderEpoch, b.BaseOffset)
		}
	})
	if err != nil {
		return false, err
	}
	info, err := s.log.Stat()
	if err != nil {
		return false, err
	}
	l.recovery.SegmentsRescanned++
	l.recovery.BytesRescanned += info.Size()
	if cut = corrupt != nil || info.Size() != s.size; cut {
		l.recovery.TruncatedBytes += info.Size() - s.size
		l.recovery.TruncatedRecords += headerRecords(s.log, s.size, info.Size())
		if err := s.log.Truncate(s.size); err != nil {
			return false, err
		}
	}
	if !last && !cut {
		s.addFinalTimeEntry() // as if rolled: it stays a closed segment
	}
	changed, err := s.rebuildIndexFiles()
	if err != nil {
		return false, err
	}
	if s.size > 0 && s.firstAppend.IsZero() {
		s.firstAppend = l.now() // no timestamp to go by
	}
	s.syncedSize, s.indexesSynced = -1, false
	if s.size == 0 && !cut && !changed {
		// An empty segment left as it was: nothing to make durable. (Its
		// index files may hold stale entries on disk that a previous
		// process truncated without an fsync, but an empty segment's load
		// rejects every entry, all pointing at or past its end.)
		s.syncedSize, s.indexesSynced = 0, true
	}
	return cut, nil
}

// loadEpochs loads the leader epoch checkpoint, drops epochs past the log
// end, adds the epochs of rescanned batches that it lacks, and rewrites the
// checkpoint if that changed it.
func (l *Log) loadEpochs(seen *epochCache) error {
	lines, ok, err := readCheckpointLines(l.fsys, l.dir, leaderEpochCheckpointFile)
	if err != nil {
		return err
	}
	if ok {
		if l.epochs.entries, err = decodeEpochCheckpoint(lines); err != nil {
			return err
		}
	}
	changed := l.epochs.truncateFromEnd(l.logEnd())
	for _, e := range seen.entries {
		if e.epoch > l.epochs.latest() {
			changed = l.epochs.assign(e.epoch, e.start) || changed
		}
	}
	if changed {
		return l.writeEpochs()
	}
	return nil
}
