package group

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// EncodeBatch encodes records as one v2 RecordBatch (magic 2, uncompressed,
// no producer id), every record stamped now. The broker assigns offsets on
// append.
func EncodeBatch(records []Record, now time.Time) []byte {
	ts := now.UnixMilli()
	var body []byte
	for i, r := range records {
		rec := kmsg.Record{OffsetDelta: int32(i), Key: r.Key, Value: r.Value}
		// Length counts everything after itself: encode once with 0 to
		// measure (a varint 0 is one byte).
		rec.Length = int32(len(rec.AppendTo(nil)) - 1)
		body = rec.AppendTo(body)
	}
	rb := kmsg.RecordBatch{
		Magic:           2,
		LastOffsetDelta: int32(len(records) - 1),
		FirstTimestamp:  ts,
		MaxTimestamp:    ts,
		ProducerID:      -1,
		ProducerEpoch:   -1,
		FirstSequence:   -1,
		NumRecords:      int32(len(records)),
		Records:         body,
	}
	raw := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[8:], uint32(len(raw)-12)) // Length: after the length field
	// CRC-32C covers attributes (byte 21) to the end.
	binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], castagnoli))
	return raw
}

var decompressor = kgo.DefaultDecompressor()

// forEachRecord calls fn with the offset, key and value of every record in
// raw, whole stored batches, skipping control batches (transaction markers).
// It returns the offset after the last batch.
func forEachRecord(raw []byte, fn func(offset int64, key, value []byte) error) (next int64, err error) {
	next = -1
	for len(raw) > 0 {
		if len(raw) < 12 {
			return next, fmt.Errorf("group: truncated batch")
		}
		size := 12 + int(int32(binary.BigEndian.Uint32(raw[8:])))
		if size < 61 || size > len(raw) {
			return next, fmt.Errorf("group: batch of %d bytes", size)
		}
		var rb kmsg.RecordBatch
		if err := rb.ReadFrom(raw[:size]); err != nil {
			return next, fmt.Errorf("group: batch: %w", err)
		}
		raw = raw[size:]
		next = rb.FirstOffset + int64(rb.LastOffsetDelta) + 1
		if rb.Attributes&0x20 != 0 {
			continue // control batch
		}
		data, err := decompressor.Decompress(rb.Records, kgo.CompressionCodecType(rb.Attributes&0x07))
		if err != nil {
			return next, fmt.Errorf("group: batch at %d: %w", rb.FirstOffset, err)
		}
		for i := int32(0); i < rb.NumRecords; i++ {
			length, n := binary.Varint(data)
			if n <= 0 || length < 0 || int64(n)+length > int64(len(data)) {
				return next, fmt.Errorf("group: batch at %d: record %d is truncated", rb.FirstOffset, i)
			}
			var r kmsg.Record
			if err := r.ReadFrom(data[:n+int(length)]); err != nil {
				return next, fmt.Errorf("group: batch at %d: record %d: %w", rb.FirstOffset, i, err)
			}
			data = data[n+int(length):]
			if err := fn(rb.FirstOffset+int64(r.OffsetDelta), r.Key, r.Value); err != nil {
				return next, err
			}
		}
	}
	return next, nil
}
