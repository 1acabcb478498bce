package recordbatch

import (
	"encoding/binary"
	"fmt"
	"iter"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Record is one record as Records yields it: kmsg's decoding plus its
// offset and timestamp.
type Record struct {
	kmsg.Record
	// Offset is the batch's base offset plus the record's offset delta.
	Offset int64
	// Timestamp is the batch's first timestamp plus the record's delta; in
	// a LogAppendTime batch it is the batch's MaxTimestamp, as every
	// record's is (KIP-32).
	Timestamp int64
}

// Records iterates over the records of raw, exactly one whole batch (as
// stored or as Parse accepted it: the CRC is not checked again), in order.
// It decompresses them with the batch's codec, into one buffer of at most
// MaxUncompressed(len(raw)) bytes (ErrRecordsTooLarge past it: see
// decompress.go), and decodes them with kmsg. Records that only need to be
// checked or searched are walked without decoding (CheckRecords,
// FindRecord); this is for callers that need keys, values or headers.
//
// A batch must hold exactly NumRecords records and nothing after them (a
// stored batch's count, which may be less than its offsets span). Bytes that
// break this, or do not decode, end the iteration with one (nil, err)
// wrapping ErrCorrupt; records before them have been yielded.
//
// The yielded Record is reused for the next one, and its Headers slice
// with it. Its Key, Value and header values alias raw (uncompressed) or the
// decompressed bytes, which nothing else holds, and stay valid as long as
// the caller keeps them; header keys are strings that alias them too.
func Records(raw []byte) iter.Seq2[*Record, error] {
	return func(yield func(*Record, error) bool) {
		h, err := ParseHeader(raw)
		if err == nil && h.Size != len(raw) {
			err = fmt.Errorf("%w: length says %d bytes, %d given", ErrCorrupt, h.Size, len(raw))
		}
		if err != nil {
			yield(nil, err)
			return
		}
		data := raw[HeaderSize:]
		if codec := h.Compression(); codec != 0 {
			if data, err = decompressAll(codec, data, MaxUncompressed(h.Size)); err != nil {
				yield(nil, batchErr(h, &codecError{err}))
				return
			}
		}
		var r Record
		for i := int32(0); i < h.NumRecords; i++ {
			length, n := binary.Varint(data)
			if n <= 0 || length < 0 || int64(n)+length > int64(len(data)) {
				yield(nil, fmt.Errorf("%w: record %d of %d: bad length", ErrCorrupt, i, h.NumRecords))
				return
			}
			enc := data[:n+int(length)]
			if err := r.UnsafeReadFrom(enc); err != nil {
				yield(nil, fmt.Errorf("%w: record %d: %v", ErrCorrupt, i, err))
				return
			}
			data = data[len(enc):]
			r.Offset = h.BaseOffset + int64(r.OffsetDelta)
			r.Timestamp = h.FirstTimestamp + r.TimestampDelta64
			if h.LogAppendTime() {
				r.Timestamp = h.MaxTimestamp
			}
			if !yield(&r, nil) {
				return
			}
		}
		if len(data) != 0 {
			yield(nil, fmt.Errorf("%w: %d bytes after the last record", ErrCorrupt, len(data)))
		}
	}
}
