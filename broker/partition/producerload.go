package partition

import (
	"errors"
	"fmt"
	"time"

	"github.com/ordo-broker/ordo/broker/storage"
)

// loadAttempts bounds the scans of one rebuild that race with a deletion
// (retention) or truncation of the log.
const loadAttempts = 3

// loadProducerStates rebuilds a partition's producer state from its log: it
// replays the headers of every batch from the log start offset to the log
// end offset, as Kafka's ProducerStateManager does from its last snapshot,
// then drops producers whose last batch is timestamped more than
// producerIDExpiration ago.
//
// The scan reads batch headers only (storage.Log.ScanHeaders: a few KiB
// per large batch, not the records), but it visits every batch; Kafka
// bounds it with producer state snapshots at segment rolls, which Ordo does
// not write yet. Producers whose batches are all below the log start offset
// (DeleteRecords) are not in the rebuilt state: their next batch with a
// sequence other than 0 gets UNKNOWN_PRODUCER_ID, which clients answer by
// bumping their epoch.
func loadProducerStates(log *storage.Log, now time.Time) (*producerStates, error) {
	for attempt := 1; ; attempt++ {
		s := newProducerStates()
		err := log.ScanHeaders(log.LogStartOffset(), func(b storage.Batch) {
			if b.ProducerID >= 0 && !b.Control() {
				s.apply(b, now)
			}
		})
		raced := errors.Is(err, storage.ErrLogChanged) || errors.Is(err, storage.ErrOffsetOutOfRange)
		if raced && attempt < loadAttempts {
			continue // a retention or truncation moved the log: start over
		}
		if err != nil {
			return nil, fmt.Errorf("partition: rebuilding producer state: %w", err)
		}
		s.expireByTimestamp(now)
		return s, nil
	}
}

// TruncateTo removes the offsets >= offset from the log (a follower cutting
// back to its leader's epoch end, KIP-101) and rebuilds the producer state
// from what is left, as Kafka reloads it after a truncation: the windows
// must not remember batches that are gone, or a retry of one would be
// answered as a duplicate with an offset that no longer holds it.
func (p *Partition) TruncateTo(offset int64, now time.Time) error {
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	if err := p.logErr(p.log.Truncate(offset)); err != nil {
		return err
	}
	s, err := loadProducerStates(p.log, now)
	if err != nil {
		return err
	}
	p.producers = s
	p.mu.Lock()
	p.core.Truncated(p.log.LogEndOffset())
	p.mu.Unlock()
	return nil
}
