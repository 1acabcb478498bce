package partition

import (
	"github.com/ordo-broker/ordo/broker/failpoints"
)

// Offset look-ups of ListOffsets and OffsetForLeaderEpoch: each answers
// only with committed records, as the core says.

// The special timestamps of ListOffsets.
const (
	LatestTimestamp   = -1 // the high watermark
	EarliestTimestamp = -2 // the log start offset
	MaxTimestamp      = -3 // the record with the largest timestamp (KIP-734)
)

// ListOffset answers ListOffsets for one timestamp: the latest offset (the
// high watermark), the earliest (the log start offset), the committed
// record with the largest timestamp, or the first committed record whose
// timestamp is at or after timestamp. found is false when no committed
// record qualifies (Kafka answers -1, -1 then).
func (p *Partition) ListOffset(timestamp int64) (offset, ts int64, found bool, err error) {
	switch timestamp {
	case LatestTimestamp:
		hw := p.HighWatermark()
		if failpoints.Enabled {
			hw = p.plantedStaleHighWatermark(failpoints.StaleHighWatermark, hw)
		}
		return hw, -1, true, nil
	case EarliestTimestamp:
		return p.LogStartOffset(), -1, true, nil
	case MaxTimestamp:
		ts, offset, err = p.log.MaxTimestamp()
		found = err == nil && offset >= 0
	default:
		offset, ts, found, err = p.log.OffsetForTimestamp(timestamp)
	}
	if err != nil || !found || !p.visible(offset) {
		return -1, -1, false, err
	}
	return offset, ts, true, nil
}

func (p *Partition) visible(offset int64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.core.Visible(offset)
}

// EndOffsetForEpoch answers OffsetForLeaderEpoch (KIP-101, KIP-279): the
// largest epoch at or below epoch that the log knows, and the offset where
// it ends (the start of the next epoch, or the log end offset for the
// latest). As in Kafka, an epoch below the earliest known one answers
// (epoch, start of the earliest known), and one above the latest, or a log
// that knows none, answers (-1, -1).
func (p *Partition) EndOffsetForEpoch(epoch int32) (leaderEpoch int32, endOffset int64) {
	return p.log.EndOffsetForEpoch(epoch)
}
