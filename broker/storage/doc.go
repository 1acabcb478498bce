// Package storage owns one partition's log on disk, laid out as Kafka lays
// it out so that the files read the same way: a folder per partition holding
// segments named by their 20-digit base offset (.log: RecordBatch bytes as
// the wire carries them, with broker-assigned offsets; .index: sparse offset
// index; .timeindex: sparse time index), a leader-epoch-checkpoint and a
// log-start-offset checkpoint.
//
// It assigns offsets, rolls segments, answers reads by offset and by
// timestamp, keeps the leader epoch cache (KIP-101, KIP-279), truncates, and
// after a crash recovers to the last whole valid batch: corrupt bytes are
// never served. It does not decide anything about replication; the partition
// layer above it does.
//
// The RecordBatch format is broker/recordbatch's: storage parses, patches
// and writes batches and walks their records only through it (Batch is
// recordbatch.Header).
//
// All I/O goes through broker/fs, so tests run the same code on fs.Mem and
// crash it.
//
// Lock order: Log.cleanMu (one compaction pass at a time; held while it
// reads and writes cleaned segments, by nothing else) → Log.commit.mu (only
// to elect a sync leader, never held across I/O) → Log.syncMu (held by a
// sync round and by operations that delete or rewrite bytes, including the
// cleaner's swap) → Log.filesMu (read-held by reads while they read
// segment files, write-held by the swap to close replaced files) → Log.mu
// (the in-memory state).
package storage
