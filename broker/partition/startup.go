package partition

import (
	"os"
	"path/filepath"
	"time"

	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/ordo-broker/ordo/broker/storage"
)

// cleanShutdownFile marks a log directory whose logs were all closed
// cleanly (Kafka's .kafka_cleanshutdown): Manager.Close writes it last,
// after every log has fsynced and closed, and the next start removes it,
// durably, before it opens any log. Its presence lets recovery trust each
// log's active segment (storage.Options.CleanShutdown) instead of
// rescanning it, so a clean restart reads next to nothing. It is one file
// for the directory, not one per log, so a clean shutdown of 20,000
// partitions costs two fsyncs, not 40,000.
const cleanShutdownFile = ".ordo_cleanshutdown"

// takeCleanShutdownMarker reports whether the marker was there and removes
// it durably: from now on the logs may change, and a crash must not find a
// stale marker.
func (m *Manager) takeCleanShutdownMarker() (bool, error) {
	path := filepath.Join(m.dir, cleanShutdownFile)
	if _, err := m.fsys.Stat(path); err != nil {
		if fs.IsNotExist(err) {
			return false, nil
		}
		return false, err
	}
	if err := m.fsys.Remove(path); err != nil {
		return false, err
	}
	if err := m.fsys.SyncDir(m.dir); err != nil {
		return false, err
	}
	return true, nil
}

// writeCleanShutdownMarker writes the marker durably; every log is closed.
func (m *Manager) writeCleanShutdownMarker() error {
	if err := fs.MkdirAllDurable(m.fsys, m.dir); err != nil {
		return err
	}
	f, err := m.fsys.OpenFile(filepath.Join(m.dir, cleanShutdownFile), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return m.fsys.SyncDir(m.dir)
}

// startReport adds up what recovery did for the logs opened at start-up,
// for one summary line.
type startReport struct {
	start time.Time
	clean bool // the previous shutdown was clean

	partitions, recovered            int
	segments, segmentsRescanned      int
	bytesRescanned, bytesChecked     int64
	truncatedBytes, truncatedRecords int64
	segmentsDeleted, swapsCompleted  int
}

// add counts one opened log; a nil report counts nothing.
func (r *startReport) add(rec storage.Recovery) {
	if r == nil {
		return
	}
	r.partitions++
	if rec.Recovered() {
		r.recovered++
	}
	r.segments += rec.Segments
	r.segmentsRescanned += rec.SegmentsRescanned
	r.bytesRescanned += rec.BytesRescanned
	r.bytesChecked += rec.BytesChecked
	r.truncatedBytes += rec.TruncatedBytes
	r.truncatedRecords += rec.TruncatedRecords
	r.segmentsDeleted += rec.SegmentsDeleted
	r.swapsCompleted += rec.SwapsCompleted
}

func (m *Manager) logStart(r *startReport) {
	m.logger.Info("partition logs opened",
		"partitions", r.partitions, "recovered", r.recovered, "clean_shutdown", r.clean,
		"segments", r.segments, "segments_rescanned", r.segmentsRescanned,
		"bytes_rescanned", r.bytesRescanned, "bytes_checked", r.bytesChecked,
		"truncated_bytes", r.truncatedBytes, "truncated_records", r.truncatedRecords,
		"segments_deleted", r.segmentsDeleted, "swaps_completed", r.swapsCompleted,
		"max_open_files", m.files.Stats().Max,
		"duration", m.now().Sub(r.start))
}
