package partition

import (
	"errors"
	"time"

	"github.com/ordo-broker/ordo/broker/storage"
)

// The log cleaner: retention (cleanup.policy=delete) and compaction
// (cleanup.policy=compact) of the hosted partitions, run by a background
// loop (RunCleaner; the broker starts it with Config.LogCleanerInterval).
// Kafka runs these as two schedules, retention every
// log.retention.check.interval.ms (5 minutes) and cleaner threads that back
// off log.cleaner.backoff.ms (15 seconds) when idle; Ordo runs both in one
// loop, one partition at a time.
//
// A round does bounded work per partition: retention deletes at most a
// fixed number of segments, a compaction pass maps at most
// storage.DefaultMaxDirtyBytes of dirty data. Neither holds a partition's
// append lock, and the storage holds its own locks only for moments (the
// swap of a cleaned segment, the log start offset move), so produce and
// fetch go on while the cleaner works.

// CleanStats is what one cleaner round did to one partition.
type CleanStats struct {
	Retention  storage.RetentionResult
	Compaction storage.CleanResult
}

// Clean applies the topic's cleanup policy to the partition once: with
// "delete", whole closed segments past retention.ms or retention.bytes go
// and the log start offset moves; with "compact", a compaction pass runs if
// the log is dirty enough (min.cleanable.dirty.ratio, min and max
// compaction lags). Only committed records (below the high watermark) are
// touched. stop, when closed, cuts a compaction pass short.
func (p *Partition) Clean(now time.Time, stop <-chan struct{}) (CleanStats, error) {
	p.mu.Lock()
	cfg, hw, closed := p.cfg, p.core.HighWatermark(), p.closed
	p.mu.Unlock()
	var st CleanStats
	if closed {
		return st, ErrStopped
	}
	var errs []error
	if cfg.Deletes() {
		r, err := p.log.DeleteRetained(now, storage.Retention{Ms: cfg.RetentionMs, Bytes: cfg.RetentionBytes, HighWatermark: hw})
		st.Retention = r
		errs = append(errs, err)
	}
	if cfg.Compacts() {
		r, err := p.log.Clean(storage.CleanOptions{
			Now:                    now,
			HighWatermark:          hw,
			DeleteRetentionMs:      cfg.DeleteRetentionMs,
			MinCompactionLagMs:     cfg.MinCompactionLagMs,
			MaxCompactionLagMs:     cfg.MaxCompactionLagMs,
			MinCleanableDirtyRatio: cfg.MinCleanableDirtyRatio,
			Stop:                   stop,
		})
		st.Compaction = r
		errs = append(errs, err)
	}
	p.logStartMoved()
	return st, p.logErr(errors.Join(errs...))
}

// CleanAll runs one cleaner round over every hosted partition, stopping
// early when stop is closed. A partition deleted or closed meanwhile is
// skipped. It returns the first error of each partition, joined.
func (m *Manager) CleanAll(stop <-chan struct{}) error {
	var errs []error
	for _, p := range m.All() {
		select {
		case <-stop:
			return errors.Join(errs...)
		default:
		}
		st, err := p.Clean(m.now(), stop)
		if err != nil && !errors.Is(err, storage.ErrClosed) && !errors.Is(err, ErrStopped) {
			m.logger.Error("log cleaner", "topic", p.Topic, "partition", p.Index, "err", err)
			errs = append(errs, err)
		}
		if r := st.Retention; r.Segments > 0 {
			m.logger.Info("log cleaner: deleted segments past retention", "topic", p.Topic, "partition", p.Index,
				"segments", r.Segments, "bytes", r.Bytes, "log_start_offset", r.LogStartOffset)
		}
		if c := st.Compaction; c.Ran {
			m.logger.Info("log cleaner: compacted", "topic", p.Topic, "partition", p.Index,
				"first_dirty", c.FirstDirty, "end", c.End, "dirty_ratio", c.DirtyRatio,
				"segments", c.SegmentsBefore, "segments_after", c.SegmentsAfter,
				"bytes", c.BytesBefore, "bytes_after", c.BytesAfter,
				"records", c.Records, "kept", c.Kept, "tombstones_dropped", c.TombstonesDropped, "aborted", c.Aborted)
		}
	}
	return errors.Join(errs...)
}

// RunCleaner runs CleanAll every interval until stop is closed. It returns
// once the round in progress has stopped.
func (m *Manager) RunCleaner(stop <-chan struct{}, interval time.Duration) {
	for {
		t := m.clock.NewTimer(interval)
		select {
		case <-stop:
			t.Stop()
			return
		case <-t.C():
			_ = m.CleanAll(stop) // errors are logged
		}
	}
}
