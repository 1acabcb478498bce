package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/ordo-broker/ordo/broker/fs"
)

// The indexes are Kafka's: sparse, one entry per IndexIntervalBytes of log,
// big-endian, offsets relative to the segment's base offset.
//
//   - .index: relative offset (uint32) + file position (uint32). An entry
//     names a batch by its last offset and points at the batch's first byte,
//     so the batch holding offset o starts at or after lookup(o).
//   - .timeindex: timestamp (int64) + relative offset (uint32). An entry
//     (t, o) says: the largest timestamp among the segment's records up to
//     offset o is t, carried by the batch whose last offset is o.
//     Timestamps strictly increase.
//
// Entries live in memory too (8 or 12 bytes per 4 KiB of log); the files are
// what makes them survive a restart without rescanning the segment. They are
// appended, not preallocated, so there is nothing to trim on roll.
const (
	offsetEntrySize = 8
	timeEntrySize   = 12
)

// errBadIndex says an index file fails its sanity check; recovery rebuilds
// the index from the log.
var errBadIndex = errors.New("storage: index fails sanity check")

type offsetEntry struct{ rel, pos uint32 }

type offsetIndex struct {
	f       fs.File
	base    int64
	entries []offsetEntry
	written int // entries already in the file
}

// add records that the batch ending at offset starts at pos; flush writes it.
func (x *offsetIndex) add(offset, pos int64) {
	x.entries = append(x.entries, offsetEntry{rel: uint32(offset - x.base), pos: uint32(pos)})
}

// pending says whether entries wait for flush.
func (x *offsetIndex) pending() bool { return x.written < len(x.entries) }

func (x *offsetIndex) flush() error {
	if x.written == len(x.entries) {
		return nil
	}
	buf := make([]byte, 0, (len(x.entries)-x.written)*offsetEntrySize)
	for _, e := range x.entries[x.written:] {
		buf = binary.BigEndian.AppendUint32(buf, e.rel)
		buf = binary.BigEndian.AppendUint32(buf, e.pos)
	}
	if _, err := x.f.WriteAt(buf, int64(x.written)*offsetEntrySize); err != nil {
		return err
	}
	x.written = len(x.entries)
	return nil
}

// lookup returns where to start scanning for offset: the position of the
// last entry whose offset is <= offset, or 0.
func (x *offsetIndex) lookup(offset int64) int64 {
	i := sort.Search(len(x.entries), func(i int) bool { return x.base+int64(x.entries[i].rel) > offset })
	if i == 0 {
		return 0
	}
	return int64(x.entries[i-1].pos)
}

// upperBound returns a position no batch holding an offset below offset
// reaches: that of the first entry whose offset is >= offset.
func (x *offsetIndex) upperBound(offset int64) (int64, bool) {
	i := sort.Search(len(x.entries), func(i int) bool { return x.base+int64(x.entries[i].rel) >= offset })
	if i == len(x.entries) {
		return 0, false
	}
	return int64(x.entries[i].pos), true
}

func (x *offsetIndex) last() (offset, pos int64, ok bool) {
	if len(x.entries) == 0 {
		return 0, 0, false
	}
	e := x.entries[len(x.entries)-1]
	return x.base + int64(e.rel), int64(e.pos), true
}

// truncateToPos drops the entries of batches at or after position size.
func (x *offsetIndex) truncateToPos(size int64) error {
	i := sort.Search(len(x.entries), func(i int) bool { return int64(x.entries[i].pos) >= size })
	return x.truncateEntries(i, offsetEntrySize)
}

func (x *offsetIndex) truncateEntries(n, entrySize int) error {
	if n >= len(x.entries) {
		return nil
	}
	x.entries = x.entries[:n]
	x.written = min(x.written, n)
	return x.f.Truncate(int64(n * entrySize))
}

// reset replaces the file's contents with entries (an index rebuilt from
// the log); see rewriteIndex. changed says whether the file was written.
func (x *offsetIndex) reset(entries []offsetEntry) (changed bool, err error) {
	buf := make([]byte, 0, len(entries)*offsetEntrySize)
	for _, e := range entries {
		buf = binary.BigEndian.AppendUint32(buf, e.rel)
		buf = binary.BigEndian.AppendUint32(buf, e.pos)
	}
	if changed, err = rewriteIndex(x.f, buf); err != nil {
		return changed, err
	}
	x.entries, x.written = entries, len(entries)
	return changed, nil
}

// load reads the file and checks what can be checked without the log:
// whole entries, offsets and positions strictly increasing, positions
// inside the log.
func (x *offsetIndex) load(logSize int64) error {
	b, err := readAll(x.f)
	if err != nil {
		return err
	}
	if len(b)%offsetEntrySize != 0 {
		return fmt.Errorf("%w: offset index of %d bytes", errBadIndex, len(b))
	}
	x.entries = make([]offsetEntry, 0, len(b)/offsetEntrySize)
	for p := 0; p < len(b); p += offsetEntrySize {
		e := offsetEntry{rel: binary.BigEndian.Uint32(b[p:]), pos: binary.BigEndian.Uint32(b[p+4:])}
		if n := len(x.entries); n > 0 && (e.rel <= x.entries[n-1].rel || e.pos <= x.entries[n-1].pos) {
			return fmt.Errorf("%w: offset index entry %d not increasing", errBadIndex, n)
		}
		if int64(e.pos) >= logSize {
			return fmt.Errorf("%w: offset index position %d past the log's %d bytes", errBadIndex, e.pos, logSize)
		}
		x.entries = append(x.entries, e)
	}
	x.written = len(x.entries)
	return nil
}

type timeEntry struct {
	ts  int64
	rel uint32
}

type timeIndex struct {
	f       fs.File
	base    int64
	entries []timeEntry
	written int
}

// maybeAdd records (ts, offset) if ts is larger than the last entry's.
func (x *timeIndex) maybeAdd(ts, offset int64) {
	if n := len(x.entries); n > 0 && ts <= x.entries[n-1].ts {
		return
	}
	x.entries = append(x.entries, timeEntry{ts: ts, rel: uint32(offset - x.base)})
}

// pending says whether entries wait for flush.
func (x *timeIndex) pending() bool { return x.written < len(x.entries) }

func (x *timeIndex) flush() error {
	if x.written == len(x.entries) {
		return nil
	}
	buf := make([]byte, 0, (len(x.entries)-x.written)*timeEntrySize)
	for _, e := range x.entries[x.written:] {
		buf = binary.BigEndian.AppendUint64(buf, uint64(e.ts))
		buf = binary.BigEndian.AppendUint32(buf, e.rel)
	}
	if _, err := x.f.WriteAt(buf, int64(x.written)*timeEntrySize); err != nil {
		return err
	}
	x.written = len(x.entries)
	return nil
}

// lookupBefore returns the offset of the last entry whose timestamp is
// below ts: every record at or before that offset is older than ts.
func (x *timeIndex) lookupBefore(ts int64) (int64, bool) {
	i := sort.Search(len(x.entries), func(i int) bool { return x.entries[i].ts >= ts })
	if i == 0 {
		return 0, false
	}
	return x.base + int64(x.entries[i-1].rel), true
}

func (x *timeIndex) last() (ts, offset int64, ok bool) {
	if len(x.entries) == 0 {
		return 0, 0, false
	}
	e := x.entries[len(x.entries)-1]
	return e.ts, x.base + int64(e.rel), true
}

// truncateToOffset drops the entries at or after offset next.
func (x *timeIndex) truncateToOffset(next int64) error {
	i := sort.Search(len(x.entries), func(i int) bool { return x.base+int64(x.entries[i].rel) >= next })
	if i >= len(x.entries) {
		return nil
	}
	x.entries = x.entries[:i]
	x.written = min(x.written, i)
	return x.f.Truncate(int64(i * timeEntrySize))
}

// reset replaces the file's contents with entries; see rewriteIndex.
func (x *timeIndex) reset(entries []timeEntry) (changed bool, err error) {
	buf := make([]byte, 0, len(entries)*timeEntrySize)
	for _, e := range entries {
		buf = binary.BigEndian.AppendUint64(buf, uint64(e.ts))
		buf = binary.BigEndian.AppendUint32(buf, e.rel)
	}
	if changed, err = rewriteIndex(x.f, buf); err != nil {
		return changed, err
	}
	x.entries, x.written = entries, len(entries)
	return changed, nil
}

// rewriteIndex makes an index file hold want, writing only from the first
// byte that differs: after a crash most of a rebuilt index is what the file
// already holds, and a file left untouched costs no write and no real
// fsync (a new partition's empty indexes, 20,000 of them at a time).
// changed says whether it wrote.
func rewriteIndex(f fs.File, want []byte) (changed bool, err error) {
	have, err := readAll(f)
	if err != nil {
		return false, err
	}
	common := 0
	for common < len(have) && common < len(want) && have[common] == want[common] {
		common++
	}
	if common == len(have) && common == len(want) {
		return false, nil
	}
	if len(have) > common {
		if err := f.Truncate(int64(common)); err != nil {
			return true, err
		}
	}
	if common < len(want) {
		if _, err := f.WriteAt(want[common:], int64(common)); err != nil {
			return true, err
		}
	}
	return true, nil
}

// load reads the file and checks whole entries, strictly increasing
// timestamps and non-decreasing offsets below next.
func (x *timeIndex) load(next int64) error {
	b, err := readAll(x.f)
	if err != nil {
		return err
	}
	if len(b)%timeEntrySize != 0 {
		return fmt.Errorf("%w: time index of %d bytes", errBadIndex, len(b))
	}
	x.entries = make([]timeEntry, 0, len(b)/timeEntrySize)
	for p := 0; p < len(b); p += timeEntrySize {
		e := timeEntry{ts: int64(binary.BigEndian.Uint64(b[p:])), rel: binary.BigEndian.Uint32(b[p+8:])}
		if n := len(x.entries); n > 0 && (e.ts <= x.entries[n-1].ts || e.rel < x.entries[n-1].rel) {
			return fmt.Errorf("%w: time index entry %d not increasing", errBadIndex, n)
		}
		if x.base+int64(e.rel) >= next {
			return fmt.Errorf("%w: time index offset %d past the segment end %d", errBadIndex, x.base+int64(e.rel), next)
		}
		x.entries = append(x.entries, e)
	}
	x.written = len(x.entries)
	return nil
}

// readAll reads a whole file through ReadAt (the handle's position is never
// used, so concurrent readers do not disturb each other).
func readAll(f fs.File) ([]byte, error) {
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	b := make([]byte, info.Size())
	n, err := f.ReadAt(b, 0)
	if err != nil && !(errors.Is(err, io.EOF) && n == len(b)) {
		return nil, err
	}
	return b[:n], nil
}
