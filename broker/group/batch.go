package group

import (
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordo-broker/ordo/broker/recordbatch"
)

// EncodeBatch encodes records as one v2 RecordBatch (magic 2, uncompressed,
// no producer id), every record stamped now. The broker assigns offsets on
// append.
func EncodeBatch(records []Record, now time.Time) []byte {
	ts := now.UnixMilli()
	var body []byte
	for i, r := range records {
		body = recordbatch.AppendRecord(body, &kmsg.Record{OffsetDelta: int32(i), Key: r.Key, Value: r.Value})
	}
	raw, err := recordbatch.Append(nil, recordbatch.Header{
		LastOffsetDelta: int32(len(records) - 1),
		FirstTimestamp:  ts,
		MaxTimestamp:    ts,
		ProducerID:      -1,
		ProducerEpoch:   -1,
		BaseSequence:    -1,
		NumRecords:      int32(len(records)),
	}, body)
	if err != nil {
		panic(fmt.Sprintf("group: encoding an uncompressed batch: %v", err)) // only compression fails
	}
	return raw
}

// forEachRecord calls fn with the offset, key and value of every record in
// raw, whole stored batches, skipping control batches (transaction markers).
// It returns the offset after the last batch.
func forEachRecord(raw []byte, fn func(offset int64, key, value []byte) error) (next int64, err error) {
	next = -1
	batches, err := recordbatch.ParseHeaders(raw)
	if err != nil {
		return next, fmt.Errorf("group: %w", err)
	}
	for _, h := range batches {
		next = h.LastOffset() + 1
		if h.Control() {
			continue
		}
		for r, err := range recordbatch.Records(raw[h.Position : h.Position+h.Size]) {
			if err != nil {
				return next, fmt.Errorf("group: batch at %d: %w", h.BaseOffset, err)
			}
			if err := fn(r.Offset, r.Key, r.Value); err != nil {
				return next, err
			}
		}
	}
	return next, nil
}
