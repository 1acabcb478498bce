package recordbatch

import (
	"fmt"
)

// ValidateProduced validates the records of one partition of a client's
// Produce request of the given version, as Kafka does before appending
// them, and returns the batch's header. It checks, in Kafka's order:
//
//  1. ProduceRequest.validateRecords (v3+): one whole batch is there
//     (INVALID_RECORD: "must have at least one record batch per
//     partition"), with magic 2 (INVALID_RECORD), no zstd below Produce
//     v7 (KIP-110: UNSUPPORTED_COMPRESSION_TYPE, ErrUnsupportedCompression),
//     and nothing after it ("exactly one record batch per partition":
//     INVALID_RECORD). Kafka finds no batch in bytes too short for the
//     batch their length field announces; so does this.
//  2. UnifiedLog.analyzeAndValidateRecords: the batch's length and CRC
//     (CORRUPT_MESSAGE, ErrCorrupt), and a known codec. Kafka's
//     CompressionType.forId throws an IllegalArgumentException for codecs
//     5-7, which its request handler answers with UNKNOWN_SERVER_ERROR;
//     Ordo answers CORRUPT_MESSAGE, as franz-go's kfake does.
//  3. LogValidator.validateBatch for a client's batch (INVALID_RECORD):
//     a positive record count equal to the offsets the batch spans, not a
//     control batch ("Clients are not allowed to write control records"),
//     and a base sequence >= 0 with a producer id. A transactional batch
//     needs a producer id: Kafka's own MemoryRecordsBuilder refuses to
//     write one without ("Cannot write transactional messages without a
//     valid producer ID"); Kafka's broker has no check of its own for it,
//     Ordo refuses it with INVALID_RECORD.
//  4. The records, as Kafka's record iterator and LogValidator read them:
//     CheckRecords (count, structure, offset deltas, keys on a compacted
//     topic), decompressing within MaxUncompressed.
//
// max.message.bytes is the caller's (the partition's), as are the
// producer id's epoch and sequences. It does not copy b.
func ValidateProduced(b []byte, version int16, compacted bool) (Header, error) {
	// 1. The request's rules, from the first batch's prefix.
	if len(b) < prefixSize {
		return Header{}, fmt.Errorf("%w: %d bytes hold no record batch", ErrInvalidRecord, len(b))
	}
	n, err := size(b)
	if err != nil {
		return Header{}, err // ErrInvalidMagic, or a length below a batch header's (ErrCorrupt)
	}
	if n > len(b) {
		return Header{}, fmt.Errorf("%w: %d bytes hold no whole record batch (its length says %d)", ErrInvalidRecord, len(b), n)
	}
	// 2. Length (size checked it is at least a header's) and CRC; the
	// counts are the client rules' below, not checkCounts' (a stored
	// batch's), so that they get Kafka's INVALID_RECORD.
	h := readHeader(b)
	h.Size = n
	if err := checkCRC(b[:n]); err != nil {
		return Header{}, err
	}
	switch codec := h.Compression(); {
	case codec > 4:
		return Header{}, fmt.Errorf("%w: unknown compression codec %d", ErrCorrupt, codec)
	case codec == 4 && version < 7:
		return Header{}, fmt.Errorf("%w: Produce requests with version %d are not allowed to use ZStandard compression", ErrUnsupportedCompression, version)
	}
	if n < len(b) {
		return Header{}, fmt.Errorf("%w: Produce requests are only allowed to contain exactly one record batch per partition (%d bytes after it)", ErrInvalidRecord, len(b)-n)
	}

	// 3. A client's batch.
	switch {
	case h.LastOffsetDelta < 0:
		return Header{}, fmt.Errorf("%w: batch has an invalid offset range (last offset delta %d)", ErrInvalidRecord, h.LastOffsetDelta)
	case h.NumRecords <= 0:
		return Header{}, fmt.Errorf("%w: invalid reported count for record batch: %d", ErrInvalidRecord, h.NumRecords)
	case int64(h.NumRecords) != int64(h.LastOffsetDelta)+1:
		return Header{}, fmt.Errorf("%w: inconsistent batch offset range (last offset delta %d) and count of records %d", ErrInvalidRecord, h.LastOffsetDelta, h.NumRecords)
	case h.Control():
		return Header{}, fmt.Errorf("%w: clients are not allowed to write control records", ErrInvalidRecord)
	case h.ProducerID >= 0 && h.BaseSequence < 0:
		return Header{}, fmt.Errorf("%w: invalid sequence number %d in record batch with producer id %d", ErrInvalidRecord, h.BaseSequence, h.ProducerID)
	case h.Transactional() && h.ProducerID < 0:
		return Header{}, fmt.Errorf("%w: transactional record batch without a producer id", ErrInvalidRecord)
	}

	// 4. The records.
	if err := CheckRecords(b[:n], h, compacted); err != nil {
		return Header{}, err
	}
	return h, nil
}
