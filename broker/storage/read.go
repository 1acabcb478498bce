package storage

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/ordo-broker/ordo/broker/recordbatch"
)

// segmentView is what a reader needs of a segment, copied under l.mu: the
// bytes below size never change while the segment is in the log (only a
// truncation or deletion, which bump l.gen, can change them).
type segmentView struct {
	f     fs.File
	base  int64
	size  int64
	start int64 // where to start scanning
	limit int64 // no batch the reader wants starts at or after this
}

// maxReadRetries bounds the retries of a read that raced with a truncation
// or deletion.
const maxReadRetries = 3

var errReadRaced = errors.New("storage: read kept racing with truncation or deletion")

// retry runs a read until it did not race with a change of the log's bytes.
func (l *Log) retry(read func() (gen uint64, err error)) error {
	for attempt := 0; ; attempt++ {
		l.filesMu.RLock()
		gen, err := read()
		l.filesMu.RUnlock()
		if errors.Is(err, ErrClosed) || errors.Is(err, ErrOffsetOutOfRange) {
			return err
		}
		l.mu.RLock()
		changed, closed := l.gen != gen, l.closed
		l.mu.RUnlock()
		switch {
		case closed:
			return ErrClosed
		case !changed:
			return err
		case attempt == maxReadRetries:
			return errReadRaced
		}
	}
}

// Read returns stored bytes of whole batches, as a Fetch response carries
// them. The first batch is the one that holds offset (it may start below
// offset: batches are never split). Reading stops before the first batch
// whose last offset is >= maxOffset (the caller passes the high watermark or
// the log end offset), and before maxBytes would be exceeded, except that
// with minOne (KIP-74) the first batch is returned even if it is larger.
// offset == maxOffset or == LogEndOffset returns no bytes and no error;
// offset below LogStartOffset or above LogEndOffset is ErrOffsetOutOfRange.
//
// Reads do not hold the lock while reading files: they copy the segment
// sizes under a short read lock, and retry if a truncation or deletion
// raced with them.
func (l *Log) Read(offset, maxOffset int64, maxBytes int, minOne bool) ([]byte, error) {
	var out []byte
	err := l.retry(func() (uint64, error) {
		var gen uint64
		var err error
		out, gen, err = l.read(offset, maxOffset, maxBytes, minOne)
		return gen, err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (l *Log) read(offset, maxOffset int64, maxBytes int, minOne bool) ([]byte, uint64, error) {
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return nil, 0, ErrClosed
	}
	gen, end := l.gen, l.logEnd()
	if offset < l.logStart || offset > end {
		l.mu.RUnlock()
		return nil, gen, fmt.Errorf("%w: offset %d, log is [%d, %d)", ErrOffsetOutOfRange, offset, l.logStart, end)
	}
	maxOffset = min(maxOffset, end)
	if offset >= maxOffset || (maxBytes <= 0 && !minOne) {
		l.mu.RUnlock()
		return nil, gen, nil
	}
	var views []segmentView
	for i := l.segmentFor(offset); i < len(l.segments) && l.segments[i].base < maxOffset; i++ {
		s := l.segments[i]
		v := segmentView{f: s.log, base: s.base, size: s.size, limit: s.size}
		if len(views) == 0 {
			v.start = s.index.lookup(offset)
		}
		if pos, ok := s.index.upperBound(maxOffset); ok {
			v.limit = pos
		}
		views = append(views, v)
	}
	l.mu.RUnlock()

	var out []byte
	for k, v := range views {
		pos, want := int64(0), min(v.limit, int64(maxBytes))
		if k == 0 {
			first, err := newScanner(v.f, v.start, v.size, readWindow).locate(offset)
			if err != nil {
				if isCorrupt(err) && !errors.Is(err, ErrCorruptLog) {
					err = fmt.Errorf("%w: segment %s: %w", ErrCorruptLog, segmentName(v.base, logExt), err)
				}
				return nil, gen, err
			}
			if first.LastOffset() >= maxOffset {
				return nil, gen, nil
			}
			pos = int64(first.Position)
			want = min(v.limit-pos, int64(maxBytes))
			if first.Size > maxBytes {
				if !minOne {
					return nil, gen, nil
				}
				want = int64(first.Size) // KIP-74: make progress
			}
		} else {
			want = min(want, int64(maxBytes-len(out)))
		}
		if want <= 0 {
			break
		}
		n := len(out)
		if out == nil {
			out = getReadBuffer(int(want))
		}
		out = slices.Grow(out, int(want))[:n+int(want)]
		if got, err := v.f.ReadAt(out[n:], pos); int64(got) < want {
			if err == nil || errors.Is(err, io.EOF) {
				err = fmt.Errorf("%w: segment %s shorter than its size", ErrCorruptLog, segmentName(v.base, logExt))
			}
			return nil, gen, err
		}
		cut, done, err := wholeBatches(out[n:], maxOffset)
		if err != nil {
			return nil, gen, fmt.Errorf("%w: segment %s near position %d: %w", ErrCorruptLog, segmentName(v.base, logExt), pos, err)
		}
		out = out[:n+cut]
		// Go on to the next segment only if this one was read to its end.
		if done || int64(cut) < want || pos+want < v.size {
			break
		}
	}
	return out, gen, nil
}

// readBufs recycles Read's buffers (*[]byte) once the caller is done with
// them (ReleaseReadBuffer): a fetch reads megabytes per request, and fresh
// buffers would be zeroed and collected every time.
var readBufs sync.Pool

func getReadBuffer(size int) []byte {
	if bp, ok := readBufs.Get().(*[]byte); ok && cap(*bp) >= size {
		return (*bp)[:0]
	}
	return make([]byte, 0, size)
}

// ReleaseReadBuffer hands back a slice Read returned, once nothing uses it
// any more (the fetch response holding it has been encoded). Releasing is
// optional; using the slice after releasing it is a bug.
func ReleaseReadBuffer(b []byte) {
	if cap(b) == 0 {
		return
	}
	b = b[:0]
	readBufs.Put(&b)
}

// wholeBatches returns how many leading bytes of b are whole batches whose
// last offsets are below maxOffset, and whether a batch reaching maxOffset
// was seen.
func wholeBatches(b []byte, maxOffset int64) (n int, done bool, err error) {
	for n < len(b) {
		if len(b)-n < recordbatch.HeaderSize {
			return n, false, nil
		}
		h, err := recordbatch.ParseHeader(b[n:])
		if err != nil {
			return n, false, err
		}
		if h.LastOffset() >= maxOffset {
			return n, true, nil
		}
		if n+h.Size > len(b) {
			return n, false, nil
		}
		n += h.Size
	}
	return n, false, nil
}
