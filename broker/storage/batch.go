package storage

import "github.com/ordo-broker/ordo/broker/recordbatch"

// The v2 RecordBatch format (header layout, CRC, validation, encoding,
// record iteration) is broker/recordbatch's; the log keeps these names for
// its callers.

// Batch is a parsed v2 batch header plus where the batch lies in the bytes
// it was parsed from (a produce payload or a segment file).
type Batch = recordbatch.Header

// ParseBatches validates a produce payload: one or more complete v2 batches
// back to back, each with a sane length, magic 2, a correct CRC, at least one
// record and LastOffsetDelta == NumRecords-1 (a producer's offsets are
// dense; only the cleaner makes gaps). It returns ErrInvalidMagic or
// ErrCorruptBatch (wrapped with the reason). It does not copy b.
func ParseBatches(b []byte) ([]Batch, error) { return recordbatch.ParseProduced(b) }

// ParseBatchHeaders reads the headers of back-to-back stored batches, as
// Log.Read returns them, without decoding records or checking CRCs: the
// bytes were validated when they were appended or recovered. State that
// lives in batch headers (an idempotent producer's epoch and sequences) is
// rebuilt from the log with it. A batch cut short is ErrCorruptBatch.
func ParseBatchHeaders(b []byte) ([]Batch, error) { return recordbatch.ParseHeaders(b) }
