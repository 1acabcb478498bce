package storage

import (
	"errors"
	"fmt"
	"io"

	"github.com/ordo-broker/ordo/broker/recordbatch"
)

// OffsetForTimestamp answers ListOffsets by timestamp: the first offset at
// or after the log start offset whose record timestamp is >= ts, with that
// timestamp; found is false if there is none. The segments' max timestamps
// pick the segment, its time index the place to start, batch MaxTimestamps
// the batch, and the records inside the offset. In a LogAppendTime batch
// every record has the batch's MaxTimestamp.
//
// The records are walked (recordbatch.FindRecord), not decoded, and only
// up to the first that matches, which in a batch whose MaxTimestamp is the
// first >= ts is usually its first: a compressed batch is decompressed as
// far as that record and never past recordbatch.MaxUncompressed, so a
// stored decompression bomb costs a look-up a bounded amount each time,
// and usually almost nothing.
func (l *Log) OffsetForTimestamp(ts int64) (offset int64, timestamp int64, found bool, err error) {
	err = l.retry(func() (uint64, error) {
		var gen uint64
		var err error
		offset, timestamp, found, gen, err = l.offsetForTimestamp(ts)
		return gen, err
	})
	if err != nil {
		return 0, 0, false, err
	}
	return offset, timestamp, found, nil
}

func (l *Log) offsetForTimestamp(ts int64) (int64, int64, bool, uint64, error) {
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return 0, 0, false, 0, ErrClosed
	}
	logStart := l.logStart
	var views []segmentView
	for _, s := range l.segments[l.segmentFor(logStart):] {
		if s.maxTimestamp < ts || s.size == 0 {
			continue
		}
		from := logStart
		if off, ok := s.timeIndex.lookupBefore(ts); ok {
			from = max(from, off)
		}
		views = append(views, segmentView{f: s.log, base: s.base, size: s.size, start: s.index.lookup(from)})
	}
	gen := l.gen
	l.mu.RUnlock()

	match := func(off, t int64) bool { return off >= logStart && t >= ts }
	for _, v := range views {
		sc := newScanner(v.f, v.start, v.size, readWindow)
		for {
			h, _, err := sc.next(false)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return 0, 0, false, gen, fmt.Errorf("%w: segment %s: %w", ErrCorruptLog, segmentName(v.base, logExt), err)
			}
			if h.MaxTimestamp < ts || h.LastOffset() < logStart {
				continue
			}
			raw, err := readBatch(v, h)
			if err != nil {
				return 0, 0, false, gen, err
			}
			off, t, ok, err := recordbatch.FindRecord(raw, h, match)
			if err != nil || ok {
				return off, t, ok, gen, err
			}
			// The header promised a record >= ts that is not there (a
			// producer's inconsistent MaxTimestamp): keep looking.
		}
	}
	return -1, -1, false, gen, nil
}

// MaxTimestamp answers ListOffsets with timestamp -3 (KIP-734): the largest
// timestamp in the log and the offset of the first record that carries it;
// (-1, -1) when no record has a timestamp.
func (l *Log) MaxTimestamp() (timestamp int64, offset int64, err error) {
	err = l.retry(func() (uint64, error) {
		var gen uint64
		var err error
		timestamp, offset, gen, err = l.maxTimestamp()
		return gen, err
	})
	if err != nil {
		return -1, -1, err
	}
	return timestamp, offset, nil
}

func (l *Log) maxTimestamp() (int64, int64, uint64, error) {
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return -1, -1, 0, ErrClosed
	}
	var best *segment
	for _, s := range l.segments {
		if s.maxTimestamp >= 0 && (best == nil || s.maxTimestamp > best.maxTimestamp) {
			best = s
		}
	}
	gen := l.gen
	if best == nil {
		l.mu.RUnlock()
		return -1, -1, gen, nil
	}
	ts, shallow := best.maxTimestamp, best.offsetOfMaxTimestamp
	v := segmentView{f: best.log, base: best.base, size: best.size, start: best.index.lookup(shallow)}
	l.mu.RUnlock()

	h, err := newScanner(v.f, v.start, v.size, readWindow).locate(shallow)
	if err != nil {
		return -1, -1, gen, fmt.Errorf("%w: segment %s: %w", ErrCorruptLog, segmentName(v.base, logExt), err)
	}
	raw, err := readBatch(v, h)
	if err != nil {
		return -1, -1, gen, err
	}
	off, _, ok, err := recordbatch.FindRecord(raw, h, func(_, t int64) bool { return t == ts })
	if err != nil {
		return -1, -1, gen, err
	}
	if !ok {
		// Only the header carries the timestamp; name the batch.
		off = h.LastOffset()
	}
	return ts, off, gen, nil
}

// readBatch reads the whole batch h of a segment.
func readBatch(v segmentView, h Batch) ([]byte, error) {
	raw := make([]byte, h.Size)
	if n, err := v.f.ReadAt(raw, int64(h.Position)); n < len(raw) {
		if err == nil || errors.Is(err, io.EOF) {
			err = fmt.Errorf("%w: segment %s shorter than its size", ErrCorruptLog, segmentName(v.base, logExt))
		}
		return nil, err
	}
	return raw, nil
}
