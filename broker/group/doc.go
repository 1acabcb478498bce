// Package group is the group coordinator of Kafka's classic group protocol
// (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) and the keeper of committed
// offsets. It has two halves:
//
//   - Group (group.go, member.go, join.go, sync.go, membership.go,
//     rebalance.go, deadlines.go, writes.go, offsets.go, describe.go,
//     replay.go) is one group's state machine, Kafka's ClassicGroup and the
//     classic half of its GroupMetadataManager. It is pure: no goroutines, clocks or I/O. Time is an argument; the
//     outputs are values — replies to parked requests, records to persist —
//     and deadlines the caller reads with NextDeadline and reports back with
//     Tick. Results of writes come back through Written.
//   - Coordinator (coordinator.go, shard.go, loader.go, entry.go, api.go)
//     does the I/O: it owns the partitions of __consumer_offsets this broker
//     leads, loads their groups from the log, appends the machine's records as
//     v2 RecordBatches and answers once they are committed, and arms one timer
//     per group for the machine's next deadline.
//
// Records use Kafka's own formats (records.go; batch.go writes and reads
// them as v2 RecordBatches through broker/recordbatch), so the log of
// __consumer_offsets is what a Kafka broker would write: OffsetCommitKey
// (version 1) with OffsetCommitValue (version 3), GroupMetadataKey (version
// 2) with GroupMetadataValue (version 3), and null values as tombstones.
//
// Lock order: the controller's lock (OnImage is a metadata listener) →
// Coordinator.mu → shard.mu → entry.mu → the partition's locks (Append).
// The coordinator never calls the controller while it holds one of its own
// locks, and never waits for a write to commit while it holds entry.mu.
package group
