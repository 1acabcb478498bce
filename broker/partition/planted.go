package partition

import (
	"time"

	"github.com/ordo-broker/ordo/broker/failpoints"
	"github.com/ordo-broker/ordo/broker/storage"
)

// The planted bugs of the partition (failpoints.Planted): deliberate
// violations of Kafka's guarantees that the history checkers must catch.
// Each sits where the partition answers (an append's offsets, the high
// watermark a read or a ListOffsets reports), and is called only behind
// `if failpoints.Enabled`, a constant: a build without -tags failpoints
// carries none of this on its hot path.

// plantedSkipIdempotenceCheck is failpoints.SkipIdempotenceCheck: it
// tells whether a retry the producer state recognised is to be appended
// again.
func plantedSkipIdempotenceCheck(node int32) bool {
	_, ok := failpoints.Eval(failpoints.SkipIdempotenceCheck, node)
	return ok
}

// plantedAckWithoutAppend is failpoints.AckWithoutAppend: the offsets the
// log would give batches, and the producer state as if they had been
// appended, with nothing written. appendMu is held.
func (p *Partition) plantedAckWithoutAppend(batches []storage.Batch, logAppendTime int64, now time.Time) (storage.AppendInfo, bool) {
	if _, ok := failpoints.Eval(failpoints.AckWithoutAppend, p.node); !ok {
		return storage.AppendInfo{}, false
	}
	next := p.log.LogEndOffset()
	info := storage.AppendInfo{FirstOffset: next, MaxTimestamp: -1, OffsetOfMaxTimestamp: -1, LogAppendTime: logAppendTime}
	for _, b := range batches {
		b.BaseOffset = next
		next = b.LastOffset() + 1
		if b.ProducerID >= 0 {
			p.producers.apply(b, now)
		}
	}
	info.LastOffset = next - 1
	return info, true
}

// plantedReuseOffsets is failpoints.ReuseOffsets: it answers an append
// with its offsets rewound by its record count (the offsets of the batch
// before), when those are still in the log.
func (p *Partition) plantedReuseOffsets(info storage.AppendInfo) storage.AppendInfo {
	n := info.LastOffset - info.FirstOffset + 1
	if info.FirstOffset-n < p.LogStartOffset() {
		return info
	}
	if _, ok := failpoints.Eval(failpoints.ReuseOffsets, p.node); ok {
		info.FirstOffset, info.LastOffset = info.FirstOffset-n, info.LastOffset-n
	}
	return info
}

// plantedStaleHighWatermark is failpoints.StaleHighWatermark and
// failpoints.FetchStaleHighWatermark: the high watermark as if it lagged
// by the point's value (never below the log start offset), for the read
// that point names.
func (p *Partition) plantedStaleHighWatermark(name failpoints.Name, hw int64) int64 {
	v, ok := failpoints.Eval(name, p.node)
	if !ok {
		return hw
	}
	return max(p.LogStartOffset(), hw-int64(failpoints.Int(v, 1)))
}

// plantedFetchStaleHighWatermark bounds a Read by the stale high watermark
// of failpoints.FetchStaleHighWatermark: only records below it are
// returned, none when the read starts at or past it.
func (p *Partition) plantedFetchStaleHighWatermark(offset, until, hw int64) (int64, int64) {
	stale := p.plantedStaleHighWatermark(failpoints.FetchStaleHighWatermark, hw)
	if stale == hw {
		return until, hw
	}
	return max(offset, min(until, stale)), stale
}
