package partition

import (
	"errors"

	"github.com/ordo-broker/ordo/broker/recordbatch"
	"github.com/ordo-broker/ordo/broker/replica"
	"github.com/ordo-broker/ordo/broker/storage"
)

// Errors a partition answers with; handlers map them to Kafka codes (and
// need no other package's errors for it: those of the core and of the log
// underneath are re-exported here, as the same values, so errors.Is holds
// whichever name is used).
var (
	ErrMessageTooLarge = errors.New("batch larger than max.message.bytes")
	ErrTimeout         = errors.New("timed out waiting for the high watermark")
	ErrStopped         = errors.New("partition is closed")
	// ErrOpenLog: a partition's log could not be opened (Kafka
	// KAFKA_STORAGE_ERROR): Prepare refuses the change that creates it.
	ErrOpenLog = errors.New("cannot open the partition's log")

	// From the core (leadership, KIP-320 epoch checks).
	ErrNotLeader          = replica.ErrNotLeader
	ErrFencedLeaderEpoch  = replica.ErrFencedLeaderEpoch
	ErrUnknownLeaderEpoch = replica.ErrUnknownLeaderEpoch

	// From the log.
	ErrLogFailed        = storage.ErrLogFailed    // an fsync or write failed: the broker stops
	ErrCorruptLog       = storage.ErrCorruptLog   // corruption found on disk
	ErrCorruptBatch     = storage.ErrCorruptBatch // a client's batch failed validation
	ErrInvalidMagic     = storage.ErrInvalidMagic
	ErrNoKey            = storage.ErrNoKey // a keyless record on a compacted topic
	ErrLogFencedEpoch   = storage.ErrFencedLeaderEpoch
	ErrLogClosed        = storage.ErrClosed
	ErrOffsetOutOfRange = storage.ErrOffsetOutOfRange // below the log start or past the log end

	// Out of file descriptors (or of memory to open a file): retriable, the
	// log and the broker go on.
	ErrResourceExhausted = storage.ErrResourceExhausted
	// From the batch codec's validation of a client's batch (Produce).
	ErrInvalidRecord          = recordbatch.ErrInvalidRecord          // Kafka INVALID_RECORD
	ErrUnsupportedCompression = recordbatch.ErrUnsupportedCompression // zstd below Produce v7
	ErrRecordsTooLarge        = recordbatch.ErrRecordsTooLarge        // a decompression bomb
)

// coreErr gives the core's errors the partition's names: the core's
// ErrOffsetOutOfRange is the log's.
func coreErr(err error) error {
	if errors.Is(err, replica.ErrOffsetOutOfRange) {
		return ErrOffsetOutOfRange
	}
	return err
}
