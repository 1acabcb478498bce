package linearizability

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// Writer appends operations to a JSON-lines stream as they complete, so a
// run that dies still leaves its history behind. It is safe for concurrent
// use.
type Writer struct {
	mu  sync.Mutex
	buf *bufio.Writer
	err error
}

// NewWriter writes JSON lines to w. Call Flush before reading them back.
func NewWriter(w io.Writer) *Writer { return &Writer{buf: bufio.NewWriter(w)} }

// Write appends one operation. After an error every later call returns it.
func (w *Writer) Write(op Op) error {
	line, err := json.Marshal(op)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		_, w.err = w.buf.Write(append(line, '\n'))
	}
	return w.err
}

// Flush writes out what is buffered.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = w.buf.Flush()
	}
	return w.err
}

// WriteHistory writes a whole history as JSON lines.
func WriteHistory(w io.Writer, h History) error {
	jw := NewWriter(w)
	for _, op := range h {
		if err := jw.Write(op); err != nil {
			return err
		}
	}
	return jw.Flush()
}

// ReadHistory reads JSON lines (blank lines are skipped) and validates the
// result. Unknown fields are errors: a misspelt field would otherwise be
// read as zero and judged. So is anything after the one JSON value of a
// line (a second value, stray characters): two operations glued on one
// line by a torn write would otherwise be read as the first alone.
func ReadHistory(r io.Reader) (History, error) {
	br := bufio.NewReader(r)
	var h History
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			dec := json.NewDecoder(bytes.NewReader(line))
			dec.DisallowUnknownFields()
			var op Op
			if derr := dec.Decode(&op); derr != nil {
				return nil, fmt.Errorf("line %d: %w", lineNo, derr)
			}
			if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
				return nil, fmt.Errorf("line %d: trailing data after the operation", lineNo)
			}
			h = append(h, op)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if err := h.Validate(); err != nil {
		return nil, err
	}
	return h, nil
}

// ReadHistoryFile reads a history saved as JSON lines.
func ReadHistoryFile(path string) (History, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h, err := ReadHistory(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return h, nil
}
