package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Record-level work of compaction: decoding a stored batch's records,
// deciding which stay, and writing the batch again the way Kafka's
// MemoryRecords.filterTo does. The pass that drives it is in cleaner.go.

// ErrNoKey: a record without a key produced to a compacted topic. Kafka's
// LogValidator refuses it ("Compacted topic cannot accept message without
// key"), with INVALID_RECORD since KIP-467 (CORRUPT_MESSAGE before).
var ErrNoKey = errors.New("storage: compacted topic cannot accept a record without a key")

// CheckKeys reports ErrNoKey if a record of the batches (ParseBatches'
// result over records) has a null key. A compacted topic's partition calls
// it before appending; it decompresses each batch, as Kafka does for
// compacted topics.
func CheckKeys(records []byte, batches []Batch) error {
	for _, b := range batches {
		if b.Control() {
			continue
		}
		raw := records[b.Position : b.Position+b.Size]
		err := forEachRecord(raw, func(r *kmsg.Record, offset int64) error {
			if r.Key == nil {
				return fmt.Errorf("%w (record at offset delta %d)", ErrNoKey, offset-b.BaseOffset)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// forEachRecord decodes the records of one whole v2 batch (CRC already
// checked) in order and calls fn with each and its offset. The record
// aliases raw and is valid only during the call.
func forEachRecord(raw []byte, fn func(r *kmsg.Record, offset int64) error) error {
	var rb kmsg.RecordBatch
	if err := rb.UnsafeReadFrom(raw); err != nil {
		return fmt.Errorf("%w: %v", ErrCorruptBatch, err)
	}
	data, err := decompressor.Decompress(rb.Records, kgo.CompressionCodecType(rb.Attributes&attrCompression))
	if err != nil {
		return fmt.Errorf("%w: decompress: %v", ErrCorruptBatch, err)
	}
	var r kmsg.Record
	for i := int32(0); i < rb.NumRecords; i++ {
		length, n := binary.Varint(data)
		if n <= 0 || length < 0 || int64(n)+length > int64(len(data)) {
			return fmt.Errorf("%w: record %d length", ErrCorruptBatch, i)
		}
		enc := data[:n+int(length)]
		if err := r.UnsafeReadFrom(enc); err != nil {
			return fmt.Errorf("%w: record %d: %v", ErrCorruptBatch, i, err)
		}
		data = data[len(enc):]
		if err := fn(&r, rb.FirstOffset+int64(r.OffsetDelta)); err != nil {
			return err
		}
	}
	if len(data) != 0 {
		return fmt.Errorf("%w: %d bytes after the last record", ErrCorruptBatch, len(data))
	}
	return nil
}

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
		scratch []byte
	)
	err := forEachRecord(raw, func(r *kmsg.Record, offset int64) error {
		res.records++
		switch fate(r, offset) {
		case dropTombstone:
			res.tombstones++
			return nil
		case dropKeyless:
			res.keyless++
			return nil
		case dropRecord:
			return nil
		}
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
		r.Length = 0
		scratch = r.AppendTo(scratch[:0]) // the zero length takes one byte
		kept = binary.AppendVarint(kept, int64(len(scratch)-1))
		kept = append(kept, scratch[1:]...)
		return nil
	})
	if err != nil {
		return dst, res, err
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
		return appendBatch(dst, h, h.Attributes&^attrCompression, h.MaxTimestamp, h.MaxTimestamp, 0, nil), res, nil
	}
	if h.LogAppendTime() {
		maxTS = h.MaxTimestamp
	}
	codec := kgo.CompressionCodecType(h.Compression())
	records := kept
	if codec != kgo.CodecNone {
		c, err := compressorFor(codec)
		if err != nil {
			return dst, res, err
		}
		var buf bytes.Buffer
		out, used := c.Compress(&buf, kept)
		if used != codec {
			return dst, res, fmt.Errorf("storage: compressing a cleaned batch with codec %d failed", codec)
		}
		records = out
	}
	return appendBatch(dst, h, h.Attributes, firstTS, maxTS, int32(res.kept), records), res, nil
}

// appendBatch appends a v2 batch with h's offsets, leader epoch and producer
// fields, the given attributes, timestamps and records, and a correct CRC.
func appendBatch(dst []byte, h Batch, attrs int16, firstTS, maxTS int64, numRecords int32, records []byte) []byte {
	rb := kmsg.RecordBatch{
		FirstOffset:          h.BaseOffset,
		Length:               int32(minBatchLength + len(records)),
		PartitionLeaderEpoch: h.PartitionLeaderEpoch,
		Magic:                2,
		Attributes:           attrs,
		LastOffsetDelta:      h.LastOffsetDelta,
		FirstTimestamp:       firstTS,
		MaxTimestamp:         maxTS,
		ProducerID:           h.ProducerID,
		ProducerEpoch:        h.ProducerEpoch,
		FirstSequence:        h.BaseSequence,
		NumRecords:           numRecords,
		Records:              records,
	}
	start := len(dst)
	dst = rb.AppendTo(dst)
	b := dst[start:]
	binary.BigEndian.PutUint32(b[posCRC:], crc32.Checksum(b[posAttributes:], castagnoli))
	return dst
}

// codecCompressors holds one kgo compressor per codec, built on first use
// (building one is slow; using one is safe concurrently).
var codecCompressors struct {
	sync.Mutex
	byCodec map[kgo.CompressionCodecType]kgo.Compressor
}

func compressorFor(codec kgo.CompressionCodecType) (kgo.Compressor, error) {
	codecCompressors.Lock()
	defer codecCompressors.Unlock()
	if c, ok := codecCompressors.byCodec[codec]; ok {
		return c, nil
	}
	var cc kgo.CompressionCodec
	switch codec {
	case kgo.CodecGzip:
		cc = kgo.GzipCompression()
	case kgo.CodecSnappy:
		cc = kgo.SnappyCompression()
	case kgo.CodecLz4:
		cc = kgo.Lz4Compression()
	case kgo.CodecZstd:
		cc = kgo.ZstdCompression()
	default:
		return nil, fmt.Errorf("%w: unknown compression codec %d", ErrCorruptBatch, codec)
	}
	c, err := kgo.DefaultCompressor(cc)
	if err != nil {
		return nil, err
	}
	if codecCompressors.byCodec == nil {
		codecCompressors.byCodec = map[kgo.CompressionCodecType]kgo.Compressor{}
	}
	codecCompressors.byCodec[codec] = c
	return c, nil
}
