// Package recordbatch owns Kafka's v2 RecordBatch format (magic 2, KIP-98):
// the one codec of the broker, used by the log (broker/storage), the
// partition (broker/partition) and the group coordinator (broker/group).
// Nothing else reads or writes batch bytes field by field, computes a
// batch's CRC, decompresses or decodes its records.
//
// It holds:
//
//   - the header's fields and their byte positions, which the log needs to
//     read headers without the records (ParseHeader, ParseHeaders) and to
//     rewrite a producer's batch in place on append (SetBaseOffset,
//     SetLeaderEpoch, SetLogAppendTime);
//   - CRC-32C (Castagnoli) over attributes to the end, checked by Parse and
//     written by Append and SetLogAppendTime;
//   - validation of stored batches: Parse, ParseAll and ParseProduced
//     check the length, the magic, the CRC and the counts, and return
//     ErrCorrupt or ErrInvalidMagic;
//   - validation of a client's batch, as Kafka's ProduceRequest and
//     LogValidator do it (ValidateProduced, produce.go): one batch, its
//     header, and every record walked (CheckRecords), with Kafka's error
//     for each breach (ErrInvalidRecord, ErrUnsupportedCompression,
//     ErrNoKey, ErrCorrupt, ErrRecordsTooLarge);
//   - encoding: AppendRecord encodes one kmsg.Record, Append a whole batch
//     (kmsg.RecordBatch) from encoded records, compressing them with the
//     header's codec;
//   - reading records, two ways: the record walk (walk.go: CheckRecords,
//     FindRecord), which reads fields without decoding and streams a
//     compressed batch through a small buffer, and Records, the iterator
//     that decodes each record with kmsg (keys, values, headers);
//   - decompression (decompress.go), which both use and nothing else
//     does: bounded by MaxUncompressed, so a decompression bomb costs a
//     bounded amount of memory and work wherever it is read.
//
// Record and batch encodings are kmsg's; the header is read by byte
// position because kmsg.RecordBatch needs the whole batch and the log scans
// headers alone, and written by position only where the log patches a batch
// in place.
package recordbatch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Errors are sentinels; broker/storage re-exports them (ErrCorruptBatch,
// ErrInvalidMagic), and the broker's edge maps them to Kafka error codes.
var (
	// ErrCorrupt: a batch with a bad length or CRC, truncated, with no
	// records or inconsistent counts, or records that do not decode
	// (Kafka CORRUPT_MESSAGE).
	ErrCorrupt = errors.New("recordbatch: corrupt record batch")
	// ErrInvalidMagic: a batch whose magic is not 2; this broker stores only
	// v2 batches (Kafka INVALID_RECORD / UNSUPPORTED_FOR_MESSAGE_FORMAT).
	ErrInvalidMagic = errors.New("recordbatch: record batch magic is not 2")
	// ErrInvalidRecord: a produced batch or its records break Kafka's
	// rules for a client's batch: records that disagree with the count
	// or offsets the header claims, that do not parse, offset deltas
	// that do not count up from 0, a control batch, more than one batch
	// for a partition (Kafka INVALID_RECORD, InvalidRecordException).
	ErrInvalidRecord = errors.New("recordbatch: invalid record")
	// ErrNoKey: a record without a key produced to a compacted topic.
	// Kafka's LogValidator refuses it ("Compacted topic cannot accept
	// message without key"), with INVALID_RECORD since KIP-467
	// (CORRUPT_MESSAGE before).
	ErrNoKey = errors.New("recordbatch: compacted topic cannot accept a record without a key")
	// ErrUnsupportedCompression: zstd in a Produce request below v7
	// (KIP-110; Kafka UNSUPPORTED_COMPRESSION_TYPE).
	ErrUnsupportedCompression = errors.New("recordbatch: unsupported compression type")
	// ErrRecordsTooLarge: a compressed batch whose records decompress to
	// more than MaxUncompressed of its size: a decompression bomb (Kafka
	// RECORD_LIST_TOO_LARGE).
	ErrRecordsTooLarge = errors.New("recordbatch: records decompress to more than the batch may hold")
)

// Byte layout of a v2 RecordBatch.
const (
	posBaseOffset      = 0  // int64
	posLength          = 8  // int32: bytes after this field
	posLeaderEpoch     = 12 // int32
	posMagic           = 16 // int8
	posCRC             = 17 // uint32, CRC-32C of posAttributes..end
	posAttributes      = 21 // int16
	posLastOffsetDelta = 23 // int32
	posFirstTimestamp  = 27 // int64
	posMaxTimestamp    = 35 // int64
	posProducerID      = 43 // int64
	posProducerEpoch   = 51 // int16
	posBaseSequence    = 53 // int32
	posNumRecords      = 57 // int32

	// HeaderSize is the size of everything before the records: a batch
	// with no records is this long.
	HeaderSize = 61

	prefixSize = 12 // base offset + length: what Length does not count
	minLength  = HeaderSize - prefixSize

	// minRecordSize is the smallest encoded record: length, attributes,
	// timestamp delta, offset delta, key length, value length and header
	// count, one byte each.
	minRecordSize = 7
)

// Attribute bits.
const (
	AttrCompression   = 0x07 // codec: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd
	AttrLogAppendTime = 0x08 // timestamps set by the broker
	AttrTransactional = 0x10
	AttrControl       = 0x20 // a transaction marker
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checksum is the CRC-32C of the whole batch b.
func checksum(b []byte) uint32 { return crc32.Checksum(b[posAttributes:], castagnoli) }

// setCRC writes the CRC of the whole batch b into it.
func setCRC(b []byte) { binary.BigEndian.PutUint32(b[posCRC:], checksum(b)) }

// Header is a parsed v2 batch header plus where the batch lies in the bytes
// it was parsed from (a produce payload or a segment file).
type Header struct {
	BaseOffset           int64
	PartitionLeaderEpoch int32
	Attributes           int16
	LastOffsetDelta      int32
	FirstTimestamp       int64
	MaxTimestamp         int64
	ProducerID           int64
	ProducerEpoch        int16
	BaseSequence         int32
	NumRecords           int32
	// Position is the batch's first byte in the parsed input or segment.
	Position int
	// Size is the batch's length in bytes, including the 12-byte offset and
	// length prefix.
	Size int
}

// LastOffset is the offset of the batch's last record.
func (h Header) LastOffset() int64 { return h.BaseOffset + int64(h.LastOffsetDelta) }

// Compression is the codec in attributes bits 0-2 (0 none, 1 gzip, 2 snappy,
// 3 lz4, 4 zstd).
func (h Header) Compression() int8 { return int8(h.Attributes & AttrCompression) }

// LogAppendTime reports attributes bit 3: the broker set the timestamps.
func (h Header) LogAppendTime() bool { return h.Attributes&AttrLogAppendTime != 0 }

// Transactional reports attributes bit 4.
func (h Header) Transactional() bool { return h.Attributes&AttrTransactional != 0 }

// Control reports attributes bit 5: a transaction marker.
func (h Header) Control() bool { return h.Attributes&AttrControl != 0 }

// size reads the size of the batch at the start of b from its length
// field, checking only that the length is possible.
func size(b []byte) (int, error) {
	if len(b) < prefixSize {
		return 0, fmt.Errorf("%w: %d bytes, shorter than a batch prefix", ErrCorrupt, len(b))
	}
	if len(b) > posMagic && int8(b[posMagic]) != 2 {
		// Checked before the length because v0/v1 message sets have
		// another layout; their magic sits at the same byte.
		return 0, fmt.Errorf("%w: magic %d", ErrInvalidMagic, int8(b[posMagic]))
	}
	length := int32(binary.BigEndian.Uint32(b[posLength:]))
	if length < minLength {
		return 0, fmt.Errorf("%w: length %d", ErrCorrupt, length)
	}
	return int(length) + prefixSize, nil
}

// ParseHeader reads the header of the batch at the start of b. b needs only
// the header's bytes, not the records: scanners use it to skip batches
// without reading them. It checks the length, the magic and the counts
// (checkCounts), not the CRC, and not that the records are all there.
func ParseHeader(b []byte) (Header, error) {
	n, err := size(b)
	if err != nil {
		return Header{}, err
	}
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("%w: %d bytes, shorter than a batch header", ErrCorrupt, len(b))
	}
	h := readHeader(b)
	h.Size = n
	return h, checkCounts(h)
}

// readHeader reads the header fields of the batch at the start of b, which
// holds at least HeaderSize bytes, checking nothing.
func readHeader(b []byte) Header {
	return Header{
		BaseOffset:           int64(binary.BigEndian.Uint64(b[posBaseOffset:])),
		PartitionLeaderEpoch: int32(binary.BigEndian.Uint32(b[posLeaderEpoch:])),
		Attributes:           int16(binary.BigEndian.Uint16(b[posAttributes:])),
		LastOffsetDelta:      int32(binary.BigEndian.Uint32(b[posLastOffsetDelta:])),
		FirstTimestamp:       int64(binary.BigEndian.Uint64(b[posFirstTimestamp:])),
		MaxTimestamp:         int64(binary.BigEndian.Uint64(b[posMaxTimestamp:])),
		ProducerID:           int64(binary.BigEndian.Uint64(b[posProducerID:])),
		ProducerEpoch:        int16(binary.BigEndian.Uint16(b[posProducerEpoch:])),
		BaseSequence:         int32(binary.BigEndian.Uint32(b[posBaseSequence:])),
		NumRecords:           int32(binary.BigEndian.Uint32(b[posNumRecords:])),
	}
}

// parseWhole is ParseHeader that also checks that b holds the whole batch.
func parseWhole(b []byte) (Header, error) {
	h, err := ParseHeader(b)
	if err == nil && h.Size > len(b) {
		err = fmt.Errorf("%w: length says %d bytes, %d present", ErrCorrupt, h.Size, len(b))
	}
	return h, err
}

// Parse parses and checks the whole batch at the start of b (which may hold
// more bytes after it): ParseHeader's checks, all its bytes present, and
// its CRC. It does not decode the records.
func Parse(b []byte) (Header, error) {
	h, err := parseWhole(b)
	if err != nil {
		return Header{}, err
	}
	if err := checkCRC(b[:h.Size]); err != nil {
		return Header{}, err
	}
	return h, nil
}

// checkCRC checks the CRC of the whole batch b.
func checkCRC(b []byte) error {
	if want, sum := binary.BigEndian.Uint32(b[posCRC:]), checksum(b); sum != want {
		return fmt.Errorf("%w: CRC %08x, computed %08x", ErrCorrupt, want, sum)
	}
	return nil
}

// checkCounts checks a batch's counts as a stored batch may have them. The
// cleaner (broker/storage's compact.go) keeps a batch's base offset and
// last offset delta when it removes records, as Kafka's does, so a
// compacted batch holds fewer records than its offsets span, and may hold
// none (an empty batch kept for an idempotent producer's state or for the
// end of its segment). A producer's batch must also pass checkDense.
func checkCounts(h Header) error {
	switch {
	case h.NumRecords < 0 || h.LastOffsetDelta < 0:
		return fmt.Errorf("%w: %d records, last offset delta %d", ErrCorrupt, h.NumRecords, h.LastOffsetDelta)
	case int64(h.NumRecords) > int64(h.LastOffsetDelta)+1:
		return fmt.Errorf("%w: last offset delta %d with %d records", ErrCorrupt, h.LastOffsetDelta, h.NumRecords)
	case h.NumRecords == 0 && h.Size != HeaderSize:
		return fmt.Errorf("%w: no records in %d bytes", ErrCorrupt, h.Size)
	case h.Compression() == 0 && int64(h.NumRecords)*minRecordSize > int64(h.Size-HeaderSize):
		// Uncompressed records cannot be smaller than minRecordSize: a
		// count this large is a lie that would burn offsets.
		return fmt.Errorf("%w: %d records in %d bytes", ErrCorrupt, h.NumRecords, h.Size-HeaderSize)
	}
	return nil
}

// checkDense checks what a producer's batch must satisfy besides
// checkCounts: at least one record, at dense offsets.
func checkDense(h Header) error {
	switch {
	case h.NumRecords < 1:
		return fmt.Errorf("%w: %d records", ErrCorrupt, h.NumRecords)
	case h.LastOffsetDelta != h.NumRecords-1:
		return fmt.Errorf("%w: last offset delta %d with %d records", ErrCorrupt, h.LastOffsetDelta, h.NumRecords)
	}
	return nil
}

// ParseProduced validates a produce payload: one or more whole batches
// back to back, each passing Parse, with at least one record and
// LastOffsetDelta == NumRecords-1 (a producer's offsets are dense; only the
// cleaner makes gaps). It does not copy b.
func ParseProduced(b []byte) ([]Header, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: no batches", ErrCorrupt)
	}
	return parseEach(b, func(b []byte) (Header, error) {
		h, err := Parse(b)
		if err == nil {
			err = checkDense(h)
		}
		return h, err
	})
}

// ParseAll is ParseProduced for batches that may have been compacted (a
// leader's log, copied by a follower): gaps inside a batch and empty
// batches are allowed.
func ParseAll(b []byte) ([]Header, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: no batches", ErrCorrupt)
	}
	return parseEach(b, Parse)
}

// ParseHeaders reads the headers of back-to-back stored batches without
// checking CRCs or decoding records, for bytes that were validated when
// they were appended or recovered. A batch cut short is ErrCorrupt; no
// bytes are no batches.
func ParseHeaders(b []byte) ([]Header, error) {
	return parseEach(b, parseWhole)
}

// parseEach parses the batches of b back to back with parse, setting each
// one's Position.
func parseEach(b []byte, parse func([]byte) (Header, error)) ([]Header, error) {
	var hs []Header
	for pos := 0; pos < len(b); {
		h, err := parse(b[pos:])
		if err != nil {
			return nil, fmt.Errorf("batch at byte %d: %w", pos, err)
		}
		h.Position = pos
		hs = append(hs, h)
		pos += h.Size
	}
	return hs, nil
}

// The log patches a producer's batch in place on append, so the produce
// path copies nothing and computes the CRC at most once more.

// SetBaseOffset sets the base offset of the batch at the start of b. The
// field lies outside the CRC.
func SetBaseOffset(b []byte, offset int64) {
	binary.BigEndian.PutUint64(b[posBaseOffset:], uint64(offset))
}

// SetLeaderEpoch sets the partition leader epoch of the batch at the start
// of b. The field lies outside the CRC.
func SetLeaderEpoch(b []byte, epoch int32) {
	binary.BigEndian.PutUint32(b[posLeaderEpoch:], uint32(epoch))
}

// SetLogAppendTime marks the batch b (exactly one whole batch) as
// LogAppendTime with ts as its MaxTimestamp, which every record then
// carries (KIP-32), and computes its CRC again.
func SetLogAppendTime(b []byte, ts int64) {
	attrs := binary.BigEndian.Uint16(b[posAttributes:]) | AttrLogAppendTime
	binary.BigEndian.PutUint16(b[posAttributes:], attrs)
	binary.BigEndian.PutUint64(b[posMaxTimestamp:], uint64(ts))
	setCRC(b)
}
