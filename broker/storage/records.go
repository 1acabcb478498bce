package storage

import (
	"encoding/binary"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// decompressor is shared: kgo's default decompressor pools its decoders and
// is safe for concurrent use.
var decompressor = kgo.DefaultDecompressor()

// findRecord walks the records of one whole batch (as stored, CRC already
// trusted) in offset order and returns the first whose offset and timestamp
// satisfy match. Timestamp-lookups need the record level because a batch's
// header only bounds its records' timestamps. In a LogAppendTime batch every
// record's timestamp is the batch MaxTimestamp (KIP-32).
func findRecord(raw []byte, match func(offset, timestamp int64) bool) (offset, timestamp int64, found bool, err error) {
	var rb kmsg.RecordBatch
	if err := rb.UnsafeReadFrom(raw); err != nil {
		return 0, 0, false, fmt.Errorf("%w: %v", ErrCorruptBatch, err)
	}
	logAppendTime := rb.Attributes&attrLogAppendTime != 0
	if logAppendTime {
		// No need to decode: every record carries MaxTimestamp.
		for d := int64(0); d <= int64(rb.LastOffsetDelta); d++ {
			if match(rb.FirstOffset+d, rb.MaxTimestamp) {
				return rb.FirstOffset + d, rb.MaxTimestamp, true, nil
			}
		}
		return 0, 0, false, nil
	}
	data, err := decompressor.Decompress(rb.Records, kgo.CompressionCodecType(rb.Attributes&attrCompression))
	if err != nil {
		return 0, 0, false, fmt.Errorf("%w: decompress: %v", ErrCorruptBatch, err)
	}
	for i := int32(0); i < rb.NumRecords && len(data) > 0; i++ {
		length, n := binary.Varint(data)
		if n <= 0 || length < 0 || int64(n)+length > int64(len(data)) {
			return 0, 0, false, fmt.Errorf("%w: record %d length", ErrCorruptBatch, i)
		}
		var r kmsg.Record
		if err := r.UnsafeReadFrom(data[:n+int(length)]); err != nil {
			return 0, 0, false, fmt.Errorf("%w: record %d: %v", ErrCorruptBatch, i, err)
		}
		data = data[n+int(length):]
		off := rb.FirstOffset + int64(r.OffsetDelta)
		ts := rb.FirstTimestamp + r.TimestampDelta64
		if match(off, ts) {
			return off, ts, true, nil
		}
	}
	return 0, 0, false, nil
}
