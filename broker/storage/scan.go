package storage

import (
	"errors"
	"fmt"
	"io"

	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/ordo-broker/ordo/broker/recordbatch"
)

// Read-ahead windows, the largest a scanner grows to: reads locate a batch
// within about one index interval; recovery streams whole segments. A
// scanner starts small (most reads find their batch in a few KiB) and
// doubles its window on each refill.
const (
	minWindow      = 4 << 10
	readWindow     = 64 << 10
	recoveryWindow = 1 << 20
)

// batchScanner walks the batches of a segment file in order through a
// read-ahead window, so that skipping many small batches costs few reads.
type batchScanner struct {
	f      fs.File
	pos    int64 // the next batch's first byte
	end    int64 // bytes of the file that belong to the log
	window int   // the next refill's size
	maxWin int
	buf    []byte
	bufPos int64 // buf holds the file's bytes [bufPos, bufPos+len(buf))
}

func newScanner(f fs.File, pos, end int64, maxWindow int) *batchScanner {
	return &batchScanner{f: f, pos: pos, end: end, window: min(minWindow, maxWindow), maxWin: maxWindow}
}

// bytes returns the file's bytes [pos, pos+n), reading ahead as needed. A
// batch running past end is ErrCorruptBatch (a torn tail).
func (s *batchScanner) bytes(n int) ([]byte, error) {
	if s.pos+int64(n) > s.end {
		return nil, fmt.Errorf("%w: truncated batch at position %d", ErrCorruptBatch, s.pos)
	}
	if s.pos >= s.bufPos && s.pos+int64(n) <= s.bufPos+int64(len(s.buf)) {
		off := s.pos - s.bufPos
		return s.buf[off : off+int64(n)], nil
	}
	want := int64(max(n, s.window))
	want = min(want, s.end-s.pos)
	s.window = min(2*s.window, s.maxWin)
	if int64(cap(s.buf)) < want {
		s.buf = make([]byte, want)
	}
	s.buf = s.buf[:want]
	got, err := s.f.ReadAt(s.buf, s.pos)
	if int64(got) < want {
		s.buf = s.buf[:0]
		if err == nil || errors.Is(err, io.EOF) {
			// The file is shorter than the size we trusted: torn.
			return nil, fmt.Errorf("%w: file ends inside the batch at position %d", ErrCorruptBatch, s.pos)
		}
		return nil, err
	}
	s.bufPos = s.pos
	return s.buf[:n], nil
}

// next returns the batch at the scanner's position and moves past it; io.EOF
// at a clean end. With full it reads the whole batch, checks it and its
// CRC (recordbatch.Parse), and returns its bytes (valid until the next call); otherwise
// it reads only the header.
func (s *batchScanner) next(full bool) (Batch, []byte, error) {
	if s.pos >= s.end {
		return Batch{}, nil, io.EOF
	}
	hdr, err := s.bytes(int(min(recordbatch.HeaderSize, s.end-s.pos)))
	if err != nil {
		return Batch{}, nil, err
	}
	b, err := recordbatch.ParseHeader(hdr)
	if err != nil {
		return Batch{}, nil, fmt.Errorf("position %d: %w", s.pos, err)
	}
	var raw []byte
	if full {
		if raw, err = s.bytes(b.Size); err != nil {
			return Batch{}, nil, err
		}
		if b, err = recordbatch.Parse(raw); err != nil {
			return Batch{}, nil, fmt.Errorf("position %d: %w", s.pos, err)
		}
	} else {
		if s.pos+int64(b.Size) > s.end {
			return Batch{}, nil, fmt.Errorf("%w: truncated batch at position %d", ErrCorruptBatch, s.pos)
		}
		if b.Size > s.window {
			// Skipping a batch larger than the window: the next header
			// lies past what a refill would read, so read small windows
			// again (a few KiB per batch, not the records between).
			s.window = min(minWindow, s.maxWin)
		}
	}
	b.Position = int(s.pos)
	s.pos += int64(b.Size)
	return b, raw, nil
}

// locate scans headers for the batch that holds offset: the first whose
// last offset is >= offset.
func (s *batchScanner) locate(offset int64) (Batch, error) {
	for {
		b, _, err := s.next(false)
		if errors.Is(err, io.EOF) {
			return Batch{}, fmt.Errorf("%w: offset %d not found in its segment", ErrCorruptLog, offset)
		}
		if err != nil {
			return Batch{}, err
		}
		if b.LastOffset() >= offset {
			return b, nil
		}
	}
}

// isCorrupt tells bad bytes (which recovery may truncate) from I/O errors
// (which it must report).
func isCorrupt(err error) bool {
	return errors.Is(err, ErrCorruptBatch) || errors.Is(err, ErrInvalidMagic) || errors.Is(err, ErrCorruptLog)
}
