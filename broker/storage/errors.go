package storage

import (
	"errors"
	"os"
	"syscall"

	"github.com/ordo-broker/ordo/broker/recordbatch"
)

// Errors are sentinels; the broker's edge maps them to Kafka error codes.
var (
	// ErrCorruptBatch: a batch with a bad length or CRC, truncated, with no
	// records or inconsistent counts, or records that do not decode (Kafka
	// CORRUPT_MESSAGE). It is recordbatch.ErrCorrupt.
	ErrCorruptBatch = recordbatch.ErrCorrupt
	// ErrInvalidMagic: a batch whose magic is not 2; this broker stores only
	// v2 batches (Kafka INVALID_RECORD / UNSUPPORTED_FOR_MESSAGE_FORMAT). It
	// is recordbatch.ErrInvalidMagic.
	ErrInvalidMagic = recordbatch.ErrInvalidMagic
	// ErrOffsetOutOfRange: an offset below the log start offset or above the
	// log end offset (Kafka OFFSET_OUT_OF_RANGE).
	ErrOffsetOutOfRange = errors.New("storage: offset out of range")
	// ErrClosed: the log was closed or deleted.
	ErrClosed = errors.New("storage: log closed")
	// ErrCorruptLog: bytes on disk that recovery cannot explain as a torn
	// tail (a bad batch in the middle of the log, a gap between segments, an
	// unreadable checkpoint). Open returns it; it wraps the cause.
	ErrCorruptLog = errors.New("storage: corrupt log")
	// ErrFencedLeaderEpoch: Append was given a leader epoch older than the
	// latest one in the log; a deposed leader must not write (Kafka
	// FENCED_LEADER_EPOCH).
	ErrFencedLeaderEpoch = errors.New("storage: leader epoch older than the log's latest")
	// ErrOffsetMismatch: AppendAsFollower was given batches that do not start
	// at the log end offset or are not contiguous.
	ErrOffsetMismatch = errors.New("storage: batch offsets do not continue the log")
	// ErrLogFailed: an fsync or a write of the log failed. After a failed
	// fsync the kernel may have dropped the dirty pages, so the log
	// promises nothing more: it refuses appends and syncs until it is
	// reopened and recovered (Kafka takes the log directory offline; the
	// broker stops). Every error of a failed log wraps it and the first
	// cause (Kafka KAFKA_STORAGE_ERROR).
	ErrLogFailed = errors.New("storage: log failed, reopen to recover")
	// ErrResourceExhausted: an operation could not start for want of a
	// resource of the process, not of the disk: no file descriptor free
	// (EMFILE, ENFILE) or no kernel memory to open a file (ENOMEM). The
	// log is as it was before the call and takes the next one: unlike
	// ErrLogFailed it is not sticky, and it is not a storage failure (the
	// broker goes on). It wraps the cause.
	ErrResourceExhausted = errors.New("storage: out of file descriptors or memory; retry later")
)

// resourceExhausted tells whether err says the process ran out of file
// descriptors (EMFILE, ENFILE: only calls that make a descriptor return
// them, so nothing was done) or out of kernel memory while opening a file
// (ENOMEM from open; from other calls, such as a write, what was done is
// unknown, and it stays a failure). This is the one place that decides
// which I/O errors are the process's and not the disk's.
func resourceExhausted(err error) bool {
	if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
		return true
	}
	var pe *os.PathError
	return errors.Is(err, syscall.ENOMEM) && errors.As(err, &pe) && pe.Op == "open"
}
