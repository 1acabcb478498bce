package storage

import "time"

// maxRetentionSegments bounds the segments one DeleteRetained call deletes,
// so a partition that fell far behind its retention catches up over a few
// cleaner rounds instead of holding the log's locks for one long one.
const maxRetentionSegments = 64

// Retention is the part of a topic's configuration that DeleteRetained
// obeys, with Kafka's meanings: a negative limit is no limit.
type Retention struct {
	// Ms is retention.ms: a closed segment whose largest record timestamp
	// is more than Ms before now goes.
	Ms int64
	// Bytes is retention.bytes: the oldest closed segments go while the
	// log would still hold at least Bytes without them.
	Bytes int64
	// HighWatermark bounds what may go: only segments that end at or below
	// it (Kafka never deletes records that are not committed yet).
	HighWatermark int64
}

// RetentionResult says what DeleteRetained did.
type RetentionResult struct {
	Segments       int   // segments deleted
	Bytes          int64 // their bytes
	LogStartOffset int64 // the log start offset afterwards
}

// DeleteRetained deletes whole closed segments past retention, oldest
// first, following Kafka's UnifiedLog.deleteOldSegments:
//
//   - retention.ms: the leading segments whose largest timestamp
//     (Kafka's LogSegment.largestTimestamp) is more than r.Ms before now;
//   - then retention.bytes: while the log's size minus the next oldest
//     segment's size is still at least r.Bytes, that segment;
//   - only segments that end at or below r.HighWatermark, never the active
//     segment, and at most maxRetentionSegments per call.
//
// The log start offset moves to the first remaining segment's base offset,
// durably, before any file is removed (setLogStartOffset), so a crash in
// between never brings back records below the log start: recovery deletes
// the segments wholly below it. Readers below the new start get
// ErrOffsetOutOfRange (OFFSET_OUT_OF_RANGE), and reset as their policy says.
//
// Where Ordo differs: Kafka rolls the active segment when it alone is past
// retention.ms and then deletes it; Ordo waits for segment.ms or
// segment.bytes to roll it. A segment with no timestamps at all (maxTimestamp
// -1) is not deleted by time; Kafka falls back to the file's mtime there.
func (l *Log) DeleteRetained(now time.Time, r Retention) (RetentionResult, error) {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writable(); err != nil {
		return RetentionResult{LogStartOffset: l.logStart}, err
	}
	n, bytes := l.retainedPrefix(now.UnixMilli(), r)
	if n == 0 {
		return RetentionResult{LogStartOffset: l.logStart}, nil
	}
	before := len(l.segments)
	if start := l.segments[n].base; start > l.logStart {
		if err := l.setLogStartOffset(start); err != nil {
			return RetentionResult{LogStartOffset: l.logStart}, err
		}
	}
	if len(l.segments) == before {
		bytes = 0
	}
	return RetentionResult{Segments: before - len(l.segments), Bytes: bytes, LogStartOffset: l.logStart}, nil
}

// retainedPrefix is how many leading segments are past retention, and
// their bytes. l.mu is held.
func (l *Log) retainedPrefix(nowMs int64, r Retention) (n int, bytes int64) {
	closed := l.segments[:len(l.segments)-1]
	deletable := func(s *segment) bool {
		return n < maxRetentionSegments && s.next <= r.HighWatermark
	}
	if r.Ms >= 0 {
		for n < len(closed) && deletable(closed[n]) {
			s := closed[n]
			if s.maxTimestamp < 0 || nowMs-s.maxTimestamp <= r.Ms {
				break
			}
			bytes += s.size
			n++
		}
	}
	if r.Bytes >= 0 {
		var size int64
		for _, s := range l.segments[n:] {
			size += s.size
		}
		diff := size - r.Bytes
		for n < len(closed) && deletable(closed[n]) {
			s := closed[n]
			if diff-s.size < 0 {
				break
			}
			diff -= s.size
			bytes += s.size
			n++
		}
	}
	return n, bytes
}
