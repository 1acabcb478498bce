package storage

import (
	"errors"
	"fmt"
	"io"
)

// ErrLogChanged: a scan raced with a truncation or a deletion of the bytes
// it was reading; scan again.
var ErrLogChanged = errors.New("storage: the log changed during the scan")

// ScanHeaders calls fn with the header of every batch from the one that
// holds offset from to the log end offset as it was when the scan began, in
// offset order. It reads headers only, skipping over the records (no CRC
// check, no copy): rebuilding producer state from a log of gigabytes reads
// a few KiB per large batch instead of every byte. A scan that raced with
// a truncation or deletion returns ErrLogChanged after fn saw some batches;
// the caller starts over. from below the log start offset or above the log
// end offset is ErrOffsetOutOfRange.
func (l *Log) ScanHeaders(from int64, fn func(Batch)) error {
	l.filesMu.RLock()
	defer l.filesMu.RUnlock()
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return ErrClosed
	}
	gen, end := l.gen, l.logEnd()
	if from < l.logStart || from > end {
		l.mu.RUnlock()
		return fmt.Errorf("%w: offset %d, log is [%d, %d)", ErrOffsetOutOfRange, from, l.logStart, end)
	}
	var views []segmentView
	for i := l.segmentFor(from); i < len(l.segments) && l.segments[i].base < end; i++ {
		s := l.segments[i]
		v := segmentView{f: s.log, base: s.base, size: s.size}
		if len(views) == 0 {
			v.start = s.index.lookup(from)
		}
		views = append(views, v)
	}
	l.mu.RUnlock()

	changed := func(err error) error {
		l.mu.RLock()
		defer l.mu.RUnlock()
		if l.closed {
			return ErrClosed
		}
		if l.gen != gen {
			return fmt.Errorf("%w: %w", ErrLogChanged, err)
		}
		return err
	}
	for _, v := range views {
		sc := newScanner(v.f, v.start, v.size, readWindow)
		for {
			b, _, err := sc.next(false)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				if isCorrupt(err) && !errors.Is(err, ErrCorruptLog) {
					err = fmt.Errorf("%w: segment %s: %w", ErrCorruptLog, segmentName(v.base, logExt), err)
				}
				return changed(err)
			}
			if b.BaseOffset >= end {
				return changed(nil)
			}
			if b.LastOffset() >= from {
				fn(b)
			}
		}
	}
	return changed(nil)
}
