package storage

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordo-broker/ordo/broker/recordbatch"
)

// Record-level work of compaction: decoding a stored batch's records,
// deciding which stay, and writing the batch again the way Kafka's
// MemoryRecords.filterTo does. The pass that drives it is in cleaner.go.

// ErrNoKey: a record without a key produced to a compacted topic (Kafka
// INVALID_RECORD); recordbatch.CheckRecords finds it. It is
// recordbatch.ErrNoKey.
var ErrNoKey = recordbatch.ErrNoKey

// filtered is the outcome of filterBatch for one batch.
type filtered struct {
	records, kept int
	tombstones    int // tombstones dropped
	keyless       int // records without a key dropped
	verbatim      bool
}

// recordFate is the cleaner's decision about one record.
type recordFate int8

const (
	keepRecord recordFate = iota
	dropRecord
	dropTombstone
	dropKeyless
)

// filterBatch appends to dst what remains of the stored batch raw (header
// h) once fate has judged its records, following Kafka's
// MemoryRecords.filterTo and buildRetainedRecordsInto:
//
//   - every record kept: the batch is copied byte for byte;
//   - some kept: a new batch with the same base offset, last offset delta
//     (so the offsets of the kept records, and the producer's last
//     sequence, do not change), leader epoch, producer id, epoch and base
//     sequence, timestamp type and codec; its first timestamp is the first
//     kept record's, its max timestamp the largest kept one's (the original
//     one for LogAppendTime); records are re-encoded with their original
//     offset deltas and compressed again with the batch's codec, and the
//     CRC is computed;
//   - none kept: nothing, unless retainEmpty, when the batch's header alone
//     is written (Kafka's writeEmptyHeader: no records, uncompressed, first
//     and max timestamp the original max timestamp). The cleaner retains an
//     idempotent producer's last batch this way, so its sequence survives
//     for the producer state rebuilt from the log, and each segment's last
//     batch, so segments stay contiguous.
//
// Control batches (transaction markers; Ordo has no transactions yet) are
// kept as they are.
func filterBatch(dst, raw []byte, h Batch, fate func(r *kmsg.Record, offset int64) recordFate, retainEmpty bool) ([]byte, filtered, error) {
	if h.Control() {
		return append(dst, raw...), filtered{verbatim: true}, nil
	}
	var (
		res     filtered
		kept    []byte // the kept records, encoded, uncompressed
		firstTS int64
		maxTS   int64 = -1
	)
	for r, err := range recordbatch.Records(raw) {
		if err != nil {
			return dst, res, err
		}
		res.records++
		switch fate(&r.Record, r.Offset) {
		case dropTombstone:
			res.tombstones++
			continue
		case dropKeyless:
			res.keyless++
			continue
		case dropRecord:
			continue
		}
		// From the delta even in a LogAppendTime batch, whose max
		// timestamp is kept below.
		ts := h.FirstTimestamp + r.TimestampDelta64
		if res.kept == 0 {
			firstTS = ts
		}
		res.kept++
		maxTS = max(maxTS, ts)
		// Re-encode with the delta from the new first timestamp; the
		// offset delta stays.
		r.TimestampDelta64 = ts - firstTS
		r.TimestampDelta = int32(r.TimestampDelta64)
		kept = recordbatch.AppendRecord(kept, &r.Record)
	}
	switch {
	case res.kept == res.records && (res.records > 0 || retainEmpty):
		// An empty batch (from an earlier pass) stays only while it is
		// still needed, as Kafka's filterTo keeps one.
		res.verbatim = true
		return append(dst, raw...), res, nil
	case res.kept == 0 && !retainEmpty:
		return dst, res, nil
	case res.kept == 0:
		empty := h
		empty.Attributes &^= recordbatch.AttrCompression
		empty.FirstTimestamp = h.MaxTimestamp
		empty.NumRecords = 0
		dst, err := recordbatch.Append(dst, empty, nil)
		return dst, res, err
	}
	if h.LogAppendTime() {
		maxTS = h.MaxTimestamp
	}
	cleaned := h
	cleaned.FirstTimestamp, cleaned.MaxTimestamp = firstTS, maxTS
	cleaned.NumRecords = int32(res.kept)
	dst, err := recordbatch.Append(dst, cleaned, kept)
	return dst, res, err
}
