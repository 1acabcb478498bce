package failpoints

// The registry: every failpoint of Ordo, one constant each, with what it
// does when it fires. A point is evaluated only where this file says; a name
// that is not here cannot be enabled (Enable fails the test, and a
// GO_FAILPOINTS naming it stops the process), so a misspelling is never
// silently ignored. Keep the list sorted by layer; add new points to All.
//
// Each point is evaluated with the node id of the broker it runs in, so a
// test can target one broker of an in-process cluster (Enable's OnNodes).

// Planted bugs: deliberate violations of Kafka's guarantees, which the
// history checkers must catch (issue 4). Never enable them outside a test
// that expects the check to fail.
const (
	// AckWithoutAppend (partition.Append): the batch is answered as if
	// appended at the log end offset (the offsets the log would have
	// given it), and its producer state is updated, but nothing is
	// written. The next append takes the same offsets. Expected
	// anomalies: lost-write (or unseen, when nothing follows it) and
	// inconsistent-offsets.
	AckWithoutAppend Name = "ordo/partition/ack-without-append"

	// StaleHighWatermark (partition.ListOffset with timestamp -1, the
	// latest offset of ListOffsets): the latest offset answered is the
	// high watermark minus the point's value (an int; 1 for any other
	// value), never below the log start offset: a read that lags writes
	// which completed before it began. Fetch still reports the true high
	// watermark. Expected: porcupine finds the log
	// not linearizable; the static checker sees nothing.
	StaleHighWatermark Name = "ordo/partition/list-offsets-stale-high-watermark"

	// SkipIdempotenceCheck (partition.Append): a batch the producer state
	// recognises as a retry of one in its window is appended again
	// instead of being answered with the original offsets. It fires only
	// on a real retry, so pair it with ProduceDropResponse. Expected:
	// duplicate.
	SkipIdempotenceCheck Name = "ordo/partition/skip-idempotence-check"

	// ReuseOffsets (partition.Append): after a correct append, the batch
	// is answered with offsets rewound by its own record count: the
	// offsets the log handed to the batch before it (with one-record
	// batches, exactly that batch's), so two acknowledged batches hold
	// one offset. The log itself stays dense and correct: storage and its
	// invariants (indexes, recovery) are left out of the experiment, and
	// the fault is what clients see when an offset is handed out twice.
	// It fires only when the rewound offsets are at or above the log
	// start offset. Expected: inconsistent-offsets (and duplicate: the
	// value is also read where it really is).
	ReuseOffsets Name = "ordo/partition/reuse-offsets"

	// FetchStaleHighWatermark (partition.Read: every fetch of a
	// partition, and the group coordinator's reads of __consumer_offsets):
	// the read is answered as if the high watermark were the true one
	// minus the point's value (an int; 1 for any other value), never below the log
	// start offset: the high watermark reported is that older one, and
	// only records below it are returned (none when the fetch offset is at
	// or past it). The fetch-side twin of StaleHighWatermark; ListOffsets
	// still answers the true high watermark. Expected: porcupine finds the
	// log not linearizable (leader fetches marked linearizable read a
	// stale end); the static checker sees nothing.
	FetchStaleHighWatermark Name = "ordo/partition/fetch-stale-high-watermark"
)

// Faults: things that happen to real brokers (slow disks, lost responses).
// A correct broker survives them; the checks must pass.
const (
	// ProduceDropResponse (Produce, acks != 0): once every batch of the
	// request is committed, the connection is closed instead of writing
	// the answer: an ambiguous acknowledgement. Clients retry; an
	// idempotent producer's retry must be answered with the original
	// offsets (not appended twice).
	ProduceDropResponse Name = "ordo/handler/produce-drop-response"

	// BeforeFsync (the partition's fsync, whichever flush policy asked
	// for it, and Partition.Flush at shutdown): evaluated before each
	// fsync of a partition's log; sleep(ms) stalls it, and with it the
	// high watermark under the fsync policy and the acknowledgement of
	// everything waiting for it (appends meanwhile share the next fsync:
	// group commit). A return action does nothing.
	BeforeFsync Name = "ordo/partition/before-fsync"

	// FsyncError (the File.Sync of every file of a partition's log:
	// segments, indexes, checkpoints; the partition manager wraps its
	// filesystem with it when built with the tag): a return action makes
	// the fsync fail with EIO without making anything durable, as a dying
	// disk does. The log fails (storage.ErrLogFailed, sticky), and the
	// broker must stop: the produces waiting for that fsync and every
	// later one are answered KAFKA_STORAGE_ERROR, never acknowledged, and
	// the broker closes (Broker.Done, Broker.Err). Other actions (sleep)
	// stall the fsync. Expected: the history up to the stop, and after a
	// restart from the same data, checks clean.
	FsyncError Name = "ordo/partition/fsync-error"
)

// All lists every point of the registry (TestRegistryComplete checks it
// against the constants above).
var All = []Name{
	AckWithoutAppend,
	StaleHighWatermark,
	SkipIdempotenceCheck,
	ReuseOffsets,
	FetchStaleHighWatermark,
	ProduceDropResponse,
	BeforeFsync,
	FsyncError,
}

// Planted lists the points that are planted bugs.
var Planted = []Name{AckWithoutAppend, StaleHighWatermark, SkipIdempotenceCheck, ReuseOffsets, FetchStaleHighWatermark}
