package storage

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Byte layout of a v2 RecordBatch (KIP-98). Append patches the fields that
// lie outside the CRC (base offset, partition leader epoch) in place, and
// the scanners read headers without decoding the records.
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

	batchPrefixSize = 12 // base offset + length: what Length does not count
	batchHeaderSize = 61 // everything before the records
	minBatchLength  = batchHeaderSize - batchPrefixSize

	// minRecordSize is the smallest encoded record: length, attributes,
	// timestamp delta, offset delta, key length, value length and header
	// count, one byte each.
	minRecordSize = 7

	attrCompression   = 0x07
	attrLogAppendTime = 0x08
	attrTransactional = 0x10
	attrControl       = 0x20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Batch is a parsed v2 batch header plus where the batch lies in the bytes
// it was parsed from (a produce payload or a segment file).
type Batch struct {
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
func (b Batch) LastOffset() int64 { return b.BaseOffset + int64(b.LastOffsetDelta) }

// Compression is the codec in attributes bits 0-2 (0 none, 1 gzip, 2 snappy,
// 3 lz4, 4 zstd).
func (b Batch) Compression() int8 { return int8(b.Attributes & attrCompression) }

// LogAppendTime reports attributes bit 3: the broker set the timestamps.
func (b Batch) LogAppendTime() bool { return b.Attributes&attrLogAppendTime != 0 }

// Transactional reports attributes bit 4.
func (b Batch) Transactional() bool { return b.Attributes&attrTransactional != 0 }

// Control reports attributes bit 5: a transaction marker.
func (b Batch) Control() bool { return b.Attributes&attrControl != 0 }

// ParseBatches validates a produce payload: one or more complete v2 batches
// back to back, each with a sane length, magic 2, a correct CRC, at least one
// record and LastOffsetDelta == NumRecords-1 (a producer's offsets are
// dense; only the cleaner makes gaps, see checkCounts). It returns
// ErrInvalidMagic or ErrCorruptBatch (wrapped with the reason). It does not
// copy b.
func ParseBatches(b []byte) ([]Batch, error) {
	return parseBatches(b, true)
}

// parseStoredBatches is ParseBatches for batches that may have been
// compacted (a leader's log, copied by a follower): gaps inside a batch and
// empty batches are allowed, as checkCounts allows them.
func parseStoredBatches(b []byte) ([]Batch, error) {
	return parseBatches(b, false)
}

func parseBatches(b []byte, dense bool) ([]Batch, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: no batches", ErrCorruptBatch)
	}
	var batches []Batch
	for pos := 0; pos < len(b); {
		batch, err := parseBatch(b[pos:], true)
		if err == nil && dense {
			err = checkDense(batch)
		}
		if err != nil {
			return nil, fmt.Errorf("batch at byte %d: %w", pos, err)
		}
		batch.Position = pos
		batches = append(batches, batch)
		pos += batch.Size
	}
	return batches, nil
}

// batchSize reads the size of the batch at the start of b from its length
// field, checking only that the length is possible.
func batchSize(b []byte) (int, error) {
	if len(b) < batchPrefixSize {
		return 0, fmt.Errorf("%w: %d bytes, shorter than a batch prefix", ErrCorruptBatch, len(b))
	}
	if len(b) > posMagic && int8(b[posMagic]) != 2 {
		// Checked before the length because v0/v1 message sets have
		// another layout; their magic sits at the same byte.
		return 0, fmt.Errorf("%w: magic %d", ErrInvalidMagic, int8(b[posMagic]))
	}
	length := int32(binary.BigEndian.Uint32(b[posLength:]))
	if length < minBatchLength {
		return 0, fmt.Errorf("%w: length %d", ErrCorruptBatch, length)
	}
	return int(length) + batchPrefixSize, nil
}

// parseHeader reads the header of the batch at the start of b. b needs only
// the header's bytes, not the records: scanners use it to skip batches
// without reading them. It checks the length, the magic and the counts, not
// the CRC.
//
// The project decodes wire types with kmsg; kmsg.RecordBatch needs the whole
// batch, so this reads the fixed header fields by position instead.
func parseHeader(b []byte) (Batch, error) {
	size, err := batchSize(b)
	if err != nil {
		return Batch{}, err
	}
	if len(b) < batchHeaderSize {
		return Batch{}, fmt.Errorf("%w: %d bytes, shorter than a batch header", ErrCorruptBatch, len(b))
	}
	h := Batch{
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
		Size:                 size,
	}
	return h, checkCounts(h)
}

// checkCounts checks a batch's counts as a stored batch may have them. The
// cleaner (compact.go) keeps a batch's base offset and last offset delta
// when it removes records, as Kafka's does, so a compacted batch holds fewer
// records than its offsets span, and may hold none (an empty batch kept for
// an idempotent producer's state or for the end of its segment). A
// producer's batch must also pass checkDense.
func checkCounts(h Batch) error {
	switch {
	case h.NumRecords < 0 || h.LastOffsetDelta < 0:
		return fmt.Errorf("%w: %d records, last offset delta %d", ErrCorruptBatch, h.NumRecords, h.LastOffsetDelta)
	case int64(h.NumRecords) > int64(h.LastOffsetDelta)+1:
		return fmt.Errorf("%w: last offset delta %d with %d records", ErrCorruptBatch, h.LastOffsetDelta, h.NumRecords)
	case h.NumRecords == 0 && h.Size != batchHeaderSize:
		return fmt.Errorf("%w: no records in %d bytes", ErrCorruptBatch, h.Size)
	case h.Compression() == 0 && int64(h.NumRecords)*minRecordSize > int64(h.Size-batchHeaderSize):
		// Uncompressed records cannot be smaller than minRecordSize: a
		// count this large is a lie that would burn offsets.
		return fmt.Errorf("%w: %d records in %d bytes", ErrCorruptBatch, h.NumRecords, h.Size-batchHeaderSize)
	}
	return nil
}

// checkDense checks what a producer's batch must satisfy besides
// checkCounts: at least one record, at dense offsets.
func checkDense(h Batch) error {
	switch {
	case h.NumRecords < 1:
		return fmt.Errorf("%w: %d records", ErrCorruptBatch, h.NumRecords)
	case h.LastOffsetDelta != h.NumRecords-1:
		return fmt.Errorf("%w: last offset delta %d with %d records", ErrCorruptBatch, h.LastOffsetDelta, h.NumRecords)
	}
	return nil
}

// parseBatch parses and checks the whole batch at the start of b (which may
// hold more bytes after it) with kmsg, and its CRC when verifyCRC.
func parseBatch(b []byte, verifyCRC bool) (Batch, error) {
	size, err := batchSize(b)
	if err != nil {
		return Batch{}, err
	}
	if size > len(b) {
		return Batch{}, fmt.Errorf("%w: length says %d bytes, %d present", ErrCorruptBatch, size, len(b))
	}
	var rb kmsg.RecordBatch
	if err := rb.UnsafeReadFrom(b[:size]); err != nil {
		return Batch{}, fmt.Errorf("%w: %v", ErrCorruptBatch, err)
	}
	if verifyCRC {
		if sum := crc32.Checksum(b[posAttributes:size], castagnoli); sum != uint32(rb.CRC) {
			return Batch{}, fmt.Errorf("%w: CRC %08x, computed %08x", ErrCorruptBatch, uint32(rb.CRC), sum)
		}
	}
	h := Batch{
		BaseOffset:           rb.FirstOffset,
		PartitionLeaderEpoch: rb.PartitionLeaderEpoch,
		Attributes:           rb.Attributes,
		LastOffsetDelta:      rb.LastOffsetDelta,
		FirstTimestamp:       rb.FirstTimestamp,
		MaxTimestamp:         rb.MaxTimestamp,
		ProducerID:           rb.ProducerID,
		ProducerEpoch:        rb.ProducerEpoch,
		BaseSequence:         rb.FirstSequence,
		NumRecords:           rb.NumRecords,
		Size:                 size,
	}
	return h, checkCounts(h)
}

// setBaseOffset, setLeaderEpoch and setLogAppendTime patch a batch in place.
// The first two fields lie outside the CRC; the third changes attributes and
// MaxTimestamp, so it recomputes the CRC.
func setBaseOffset(b []byte, offset int64) {
	binary.BigEndian.PutUint64(b[posBaseOffset:], uint64(offset))
}

func setLeaderEpoch(b []byte, epoch int32) {
	binary.BigEndian.PutUint32(b[posLeaderEpoch:], uint32(epoch))
}

func setLogAppendTime(b []byte, ts int64) {
	attrs := binary.BigEndian.Uint16(b[posAttributes:]) | attrLogAppendTime
	binary.BigEndian.PutUint16(b[posAttributes:], attrs)
	binary.BigEndian.PutUint64(b[posMaxTimestamp:], uint64(ts))
	binary.BigEndian.PutUint32(b[posCRC:], crc32.Checksum(b[posAttributes:], castagnoli))
}
