package recordbatch

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// AppendRecord appends r to dst in the records' wire encoding (kmsg's),
// with its Length computed; r.Length is ignored and r is not modified. Like
// kmsg, it writes TimestampDelta64, or TimestampDelta when that is zero.
// Records appended one after the other are Append's records argument.
func AppendRecord(dst []byte, r *kmsg.Record) []byte {
	rec := *r
	rec.Length = 0
	start := len(dst)
	dst = rec.AppendTo(dst) // a zero Length takes one byte
	body := len(dst) - start - 1
	var length [binary.MaxVarintLen32]byte
	n := binary.PutVarint(length[:], int64(body))
	if n > 1 {
		// Make room for the longer length: shift the body right.
		dst = append(dst, length[1:n]...)
		copy(dst[start+n:], dst[start+1:start+1+body])
	}
	copy(dst[start:], length[:n])
	return dst
}

// Append appends to dst the batch with h's header fields (Position and Size
// are ignored) whose records are records: AppendRecord's encodings, which
// it compresses with h's codec. It sets the batch's Length, magic and CRC.
// NumRecords and LastOffsetDelta are the caller's: h says how many records
// there are and which offsets they span. The error comes only from
// compressing, so there is none for an uncompressed batch.
func Append(dst []byte, h Header, records []byte) ([]byte, error) {
	if codec := h.Compression(); codec != 0 {
		var err error
		if records, err = compress(codec, records); err != nil {
			return dst, err
		}
	}
	rb := kmsg.RecordBatch{
		FirstOffset:          h.BaseOffset,
		Length:               int32(minLength + len(records)),
		PartitionLeaderEpoch: h.PartitionLeaderEpoch,
		Magic:                2,
		Attributes:           h.Attributes,
		LastOffsetDelta:      h.LastOffsetDelta,
		FirstTimestamp:       h.FirstTimestamp,
		MaxTimestamp:         h.MaxTimestamp,
		ProducerID:           h.ProducerID,
		ProducerEpoch:        h.ProducerEpoch,
		FirstSequence:        h.BaseSequence,
		NumRecords:           h.NumRecords,
		Records:              records,
	}
	start := len(dst)
	dst = rb.AppendTo(dst)
	setCRC(dst[start:])
	return dst, nil
}

// compressors holds one kgo compressor per codec, built on first use
// (building one is slow; using one is safe concurrently).
var compressors [5]struct {
	once sync.Once
	c    kgo.Compressor
	err  error
}

var codecs = [5]kgo.CompressionCodec{
	kgo.NoCompression(), kgo.GzipCompression(), kgo.SnappyCompression(), kgo.Lz4Compression(), kgo.ZstdCompression(),
}

// compress compresses encoded records with codec (1-4).
func compress(codec int8, records []byte) ([]byte, error) {
	if codec < 1 || int(codec) >= len(compressors) {
		return nil, fmt.Errorf("%w: unknown compression codec %d", ErrCorrupt, codec)
	}
	e := &compressors[codec]
	e.once.Do(func() { e.c, e.err = kgo.DefaultCompressor(codecs[codec]) })
	if e.err != nil {
		return nil, e.err
	}
	out, used := e.c.Compress(new(bytes.Buffer), records)
	if used != kgo.CompressionCodecType(codec) {
		return nil, fmt.Errorf("recordbatch: compressing with codec %d failed", codec)
	}
	return out, nil
}
