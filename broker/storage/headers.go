package storage

import "fmt"

// ParseBatchHeaders reads the headers of back-to-back stored batches, as
// Log.Read returns them, without decoding records or checking CRCs: the
// bytes were validated when they were appended or recovered. State that
// lives in batch headers (an idempotent producer's epoch and sequences) is
// rebuilt from the log with it. A batch cut short is ErrCorruptBatch.
func ParseBatchHeaders(b []byte) ([]Batch, error) {
	var batches []Batch
	for pos := 0; pos < len(b); {
		h, err := parseHeader(b[pos:])
		if err != nil {
			return nil, fmt.Errorf("batch at byte %d: %w", pos, err)
		}
		if pos+h.Size > len(b) {
			return nil, fmt.Errorf("%w: batch at byte %d: %d bytes, %d present", ErrCorruptBatch, pos, h.Size, len(b)-pos)
		}
		h.Position = pos
		batches = append(batches, h)
		pos += h.Size
	}
	return batches, nil
}
