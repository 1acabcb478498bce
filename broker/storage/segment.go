package storage

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/ordo-broker/ordo/broker/fs"
)

const (
	logExt       = ".log"
	indexExt     = ".index"
	timeIndexExt = ".timeindex"
)

// segmentName is Kafka's file name: the base offset, zero-padded to 20
// digits so that names sort as offsets do.
func segmentName(base int64, ext string) string {
	return fmt.Sprintf("%020d%s", base, ext)
}

// segment is one .log file and its two indexes. Log.mu guards every field;
// the files themselves are read without it (ReadAt of bytes below size,
// which never change while the segment is in the log's list).
type segment struct {
	base      int64
	log       fs.File
	index     *offsetIndex
	timeIndex *timeIndex

	size int64 // bytes of whole batches in the log file
	next int64 // the offset after the last batch; base when empty

	// The largest batch MaxTimestamp in the segment and the last offset of
	// the first batch that carries it (Kafka's "shallow" offset of the max
	// timestamp; MaxTimestamp resolves the record). -1 when none.
	maxTimestamp         int64
	offsetOfMaxTimestamp int64

	bytesSinceIndex int64     // log bytes since the last offset-index entry
	firstAppend     time.Time // for segment.ms; zero when empty

	syncedSize int64 // log bytes known fsynced
	// indexesSynced: no bytes were written to the index files since they
	// were last fsynced. A sync round fsyncs the indexes of closed
	// segments only; Close fsyncs the active segment's too, so that a
	// clean restart can trust them.
	indexesSynced bool
}

// openSegment opens (fresh: creates and empties) the segment's three files.
func openSegment(fsys fs.FS, dir string, base int64, fresh bool) (*segment, error) {
	flag := os.O_RDWR | os.O_CREATE
	if fresh {
		flag |= os.O_TRUNC
	}
	var files [3]fs.File
	for i, ext := range []string{logExt, indexExt, timeIndexExt} {
		f, err := fsys.OpenFile(filepath.Join(dir, segmentName(base, ext)), flag, 0o644)
		if err != nil {
			for _, g := range files[:i] {
				g.Close()
			}
			return nil, err
		}
		files[i] = f
	}
	return &segment{
		base:                 base,
		log:                  files[0],
		index:                &offsetIndex{f: files[1], base: base},
		timeIndex:            &timeIndex{f: files[2], base: base},
		next:                 base,
		maxTimestamp:         -1,
		offsetOfMaxTimestamp: -1,
		indexesSynced:        fresh, // empty: nothing to sync
	}, nil
}

func (s *segment) close() error {
	return errors.Join(s.log.Close(), s.index.f.Close(), s.timeIndex.f.Close())
}

// remove closes the segment and deletes its files. The deletions become
// durable with the directory's next SyncDir.
func (s *segment) remove(fsys fs.FS, dir string) error {
	errs := []error{s.close()}
	for _, ext := range []string{logExt, indexExt, timeIndexExt} {
		if err := fsys.Remove(filepath.Join(dir, segmentName(s.base, ext))); err != nil && !fs.IsNotExist(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// fits reports whether a batch ending at lastOffset can go in this segment:
// index entries hold the offset relative to the base in 32 bits.
func (s *segment) fits(lastOffset int64) bool {
	return lastOffset-s.base <= math.MaxInt32
}

// track does the bookkeeping for a whole batch that lies at pos: the
// indexes (every indexInterval bytes, as Kafka), the max timestamp, the end.
func (s *segment) track(b Batch, pos int64, indexInterval int64) {
	if b.MaxTimestamp > s.maxTimestamp {
		s.maxTimestamp, s.offsetOfMaxTimestamp = b.MaxTimestamp, b.LastOffset()
	}
	if s.bytesSinceIndex > indexInterval {
		s.index.add(b.LastOffset(), pos)
		if s.maxTimestamp >= 0 {
			s.timeIndex.maybeAdd(s.maxTimestamp, s.offsetOfMaxTimestamp)
		}
		s.bytesSinceIndex = 0
	}
	s.bytesSinceIndex += int64(b.Size)
	s.size = pos + int64(b.Size)
	s.next = b.LastOffset() + 1
}

// append writes whole, patched batches at the end of the log and indexes
// them. It does not fsync.
func (s *segment) append(buf []byte, batches []Batch, indexInterval int, now time.Time) error {
	if _, err := s.log.WriteAt(buf, s.size); err != nil {
		return err
	}
	start := s.size
	for _, b := range batches {
		s.track(b, start+int64(b.Position), int64(indexInterval))
	}
	if s.firstAppend.IsZero() {
		s.firstAppend = now
	}
	return s.flushIndexes()
}

// flushIndexes writes the index entries not yet in the files.
func (s *segment) flushIndexes() error {
	if s.index.pending() || s.timeIndex.pending() {
		s.indexesSynced = false
	}
	return errors.Join(s.index.flush(), s.timeIndex.flush())
}

// finish is called when the segment stops being the active one: like
// Kafka's onBecomeInactiveSegment it records the segment's max timestamp in
// the time index, so a reopened segment knows it without a scan.
func (s *segment) finish() error {
	s.addFinalTimeEntry()
	return s.flushIndexes()
}

func (s *segment) addFinalTimeEntry() {
	if s.maxTimestamp >= 0 {
		s.timeIndex.maybeAdd(s.maxTimestamp, s.offsetOfMaxTimestamp)
	}
}

// resetState forgets everything derived from the log's bytes. The index
// files must then be loaded or rewritten (reset).
func (s *segment) resetState() {
	s.index.entries, s.timeIndex.entries = nil, nil
	s.index.written, s.timeIndex.written = 0, 0
	s.size, s.next = 0, s.base
	s.maxTimestamp, s.offsetOfMaxTimestamp = -1, -1
	s.bytesSinceIndex = 0
	s.firstAppend = time.Time{}
}

// scanAll validates every batch from the start of the log file (CRC, magic,
// offsets continuing from the base) and rebuilds the in-memory state and
// index entries from them, calling onBatch for each. It stops at the first
// bad batch: s.size is then where the good bytes end, and corrupt says why
// (nil when the whole file is good). err is an I/O error.
func (s *segment) scanAll(indexInterval int, onBatch func(Batch)) (corrupt, err error) {
	info, err := s.log.Stat()
	if err != nil {
		return nil, err
	}
	s.resetState()
	sc := newScanner(s.log, 0, info.Size(), recoveryWindow)
	for {
		b, _, err := sc.next(true)
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		if err != nil {
			if isCorrupt(err) {
				return err, nil
			}
			return nil, err
		}
		if err := s.checkNext(b); err != nil {
			return err, nil
		}
		if s.size == 0 && b.MaxTimestamp >= 0 {
			// Kafka's rule after a restart: segment.ms counts from the
			// first batch's timestamp.
			s.firstAppend = time.UnixMilli(b.MaxTimestamp)
		}
		s.track(b, int64(b.Position), int64(indexInterval))
		if onBatch != nil {
			onBatch(b)
		}
	}
}

// checkNext checks that b continues the segment: it starts at or after the
// previous batch's end. A gap between batches is what compaction leaves
// when it removes whole batches (cleaner.go); a segment's last batch still
// ends where the next segment begins, because the cleaner keeps it (empty
// if need be), so recovery's check between segments stays exact.
func (s *segment) checkNext(b Batch) error {
	switch {
	case b.BaseOffset < s.next:
		return fmt.Errorf("%w: batch at position %d has base offset %d, expected %d or more", ErrCorruptBatch, b.Position, b.BaseOffset, s.next)
	case !s.fits(b.LastOffset()) || int64(b.Position)+int64(b.Size) > math.MaxUint32:
		return fmt.Errorf("%w: batch at position %d does not fit segment %d", ErrCorruptBatch, b.Position, s.base)
	}
	return nil
}

// loadTail restores a closed segment's state from its index files plus a
// scan of the batches after the last offset-index entry (at most about one
// index interval), which also checks that the segment ends with whole,
// valid batches. checked is how many bytes it scanned. errBadIndex means
// the indexes cannot be trusted; other errors are corruption of the log or
// I/O.
func (s *segment) loadTail() (checked int64, err error) {
	info, err := s.log.Stat()
	if err != nil {
		return 0, err
	}
	s.resetState()
	if err := s.index.load(info.Size()); err != nil {
		return 0, err
	}
	lastOffset, pos, ok := s.index.last()
	checked = info.Size() - pos
	sc := newScanner(s.log, pos, info.Size(), recoveryWindow)
	s.size = pos
	first := true
	for {
		b, _, err := sc.next(true)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return checked, err
		}
		if first && ok {
			// The batch the last entry points at must end at its offset;
			// otherwise the index is stale.
			if b.LastOffset() != lastOffset {
				return checked, fmt.Errorf("%w: last entry names offset %d, batch there ends at %d", errBadIndex, lastOffset, b.LastOffset())
			}
			s.next = b.BaseOffset
		}
		if err := s.checkNext(b); err != nil {
			return checked, err
		}
		first = false
		// Entries for the tail exist already (or never will): do not add.
		s.track(b, int64(b.Position), math.MaxInt64)
	}
	if err := s.timeIndex.load(s.next); err != nil {
		return checked, err
	}
	if ts, off, ok := s.timeIndex.last(); ok && ts >= s.maxTimestamp {
		s.maxTimestamp, s.offsetOfMaxTimestamp = ts, off
	}
	return checked, nil
}

// rebuildIndexFiles writes the in-memory index entries (from scanAll) over
// the index files; changed says whether either file was written.
func (s *segment) rebuildIndexFiles() (changed bool, err error) {
	c1, err1 := s.index.reset(s.index.entries)
	c2, err2 := s.timeIndex.reset(s.timeIndex.entries)
	return c1 || c2, errors.Join(err1, err2)
}

// rebuildIndexFilesDurably does the same for a segment that recovery trusts
// without a scan, in an order that keeps the invariant loadTail relies on
// (the time index covers every batch before the last offset-index entry)
// whatever a crash keeps: an empty offset index first (so a crash makes
// the next load scan the whole segment), then the time index, then the
// offset index, each fsynced.
func (s *segment) rebuildIndexFilesDurably() error {
	entries := s.index.entries
	if _, err := s.index.reset(nil); err != nil {
		return err
	}
	if err := s.index.f.Sync(); err != nil {
		return err
	}
	if _, err := s.timeIndex.reset(s.timeIndex.entries); err != nil {
		return err
	}
	if err := s.timeIndex.f.Sync(); err != nil {
		return err
	}
	if _, err := s.index.reset(entries); err != nil {
		return err
	}
	return s.index.f.Sync()
}

// truncateTo cuts the segment before the batch that holds offset (a batch
// is never split) and recomputes what the cut bytes contributed: the index
// entries, the max timestamp, the bytes since the last index entry.
func (s *segment) truncateTo(offset int64, now time.Time) error {
	pos := s.index.lookup(offset)
	b, err := newScanner(s.log, pos, s.size, readWindow).locate(offset)
	if err != nil {
		return err
	}
	if err := s.log.Truncate(int64(b.Position)); err != nil {
		return err
	}
	s.syncedSize = min(s.syncedSize, int64(b.Position))
	if err := s.index.truncateToPos(int64(b.Position)); err != nil {
		return err
	}
	if err := s.timeIndex.truncateToOffset(b.BaseOffset); err != nil {
		return err
	}
	// Replay the batches after the last remaining index entry.
	_, pos, _ = s.index.last()
	s.size, s.next = pos, s.base
	s.maxTimestamp, s.offsetOfMaxTimestamp = -1, -1
	if ts, off, ok := s.timeIndex.last(); ok {
		s.maxTimestamp, s.offsetOfMaxTimestamp = ts, off
	}
	s.bytesSinceIndex = 0
	sc := newScanner(s.log, pos, int64(b.Position), readWindow)
	for {
		t, _, err := sc.next(false)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		s.track(t, int64(t.Position), math.MaxInt64)
	}
	if s.size == 0 {
		s.firstAppend = time.Time{}
	} else if s.firstAppend.IsZero() {
		s.firstAppend = now
	}
	return nil
}
