// Package loadgen is the load generator behind cmd/ordo-bench: it creates a
// topic, produces sequence-numbered records with real Kafka clients (franz-go
// kgo), tails the topic to measure produce-to-consume latency, consumes
// everything back to measure consume throughput, and verifies that nothing was
// lost, duplicated or reordered. It runs against an in-process Ordo, an
// in-process kfake cluster, or any brokers given by address.
package loadgen

import (
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

// Targets a Config can run against when it names no brokers.
const (
	TargetOrdo  = "ordo"  // an in-process broker.Start on 127.0.0.1:0 with a temporary data directory
	TargetKfake = "kfake" // an in-process kfake cluster of one broker (in memory, nothing is fsynced)
)

// TargetExternal labels results from a cluster given by Config.Brokers.
const TargetExternal = "external"

// Flush policies, set on the topic as Kafka's flush.messages.
const (
	FlushFsync    = "fsync"    // flush.messages=1: fsync before the produce is acknowledged (Ordo's default)
	FlushInterval = "interval" // flush.messages=MaxInt64: fsync every broker flush interval
)

// Partitioners.
const (
	PartitionManual     = "manual"     // record i goes to partition i mod partitions
	PartitionRoundRobin = "roundrobin" // kgo's round-robin partitioner, per producer
	PartitionKey        = "key"        // key = the sequence number, hashed like the Java client (murmur2)
)

// Config is one load run.
type Config struct {
	// Brokers are seed addresses of a running cluster. Empty means start
	// an in-process target (see Run).
	Brokers []string
	// Topic to create; empty means a fresh name per run.
	Topic string
	// Flush is the topic's flush policy: FlushFsync or FlushInterval.
	// kfake keeps everything in memory and ignores it.
	Flush string
	// Records to produce, RecordSize bytes of value each.
	Records    int
	RecordSize int
	// Partitions of the topic; ReplicationFactor of the topic.
	Partitions        int32
	ReplicationFactor int16
	// Acks: "all", "leader" or "none". Only acks=all uses the idempotent
	// producer (kgo's default); the others disable it, as Kafka requires.
	Acks string
	// Linger, BatchMaxBytes and Compression tune the producers
	// (kgo.ProducerLinger, ProducerBatchMaxBytes, ProducerBatchCompression).
	Linger        time.Duration
	BatchMaxBytes int32
	Compression   string
	// Producers is the number of producer clients; record i is written by
	// producer i mod Producers.
	Producers int
	// Rate caps the records produced per second, over all producers; 0
	// means as fast as the producers go. Unthrottled, the latency includes
	// the time a record waits in the producer's buffer; at a fixed rate each
	// record is stamped with the time it was due, so a stall is charged to
	// every record it delays (no coordinated omission).
	Rate int
	// Partitioner: PartitionManual, PartitionRoundRobin or PartitionKey.
	Partitioner string
	// Consume reads everything back after producing, to measure consume
	// throughput and verify a second, separate read.
	Consume bool
	// Timeout bounds one run against one target.
	Timeout time.Duration
	// Progress receives a line per phase; nil means silent.
	Progress io.Writer
	// BrokerLog receives the in-process Ordo broker's warnings and errors;
	// nil means they are dropped.
	BrokerLog io.Writer
}

// DefaultConfig is what ordo-bench runs with when given no flags.
func DefaultConfig() Config {
	return Config{
		Flush:             FlushFsync,
		Records:           100000,
		RecordSize:        1024,
		Partitions:        6,
		ReplicationFactor: 1,
		Acks:              "all",
		Linger:            10 * time.Millisecond, // kgo's default
		BatchMaxBytes:     1000012,               // kgo's default, Kafka's max.message.bytes default
		Compression:       "none",
		Producers:         1,
		Partitioner:       PartitionManual,
		Consume:           true,
		Timeout:           2 * time.Minute,
	}
}

// flushMessages is the topic's flush.messages value for the policy.
func (c Config) flushMessages() string {
	if c.Flush == FlushInterval {
		return fmt.Sprint(int64(math.MaxInt64))
	}
	return "1"
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	switch {
	case c.Flush != FlushFsync && c.Flush != FlushInterval:
		return fmt.Errorf("flush %q: want %s or %s", c.Flush, FlushInterval, FlushFsync)
	case c.Records < 1:
		return fmt.Errorf("records %d: want at least 1", c.Records)
	case c.RecordSize < MinRecordSize || c.RecordSize > MaxRecordSize:
		return fmt.Errorf("record size %d: want %d to %d bytes", c.RecordSize, MinRecordSize, MaxRecordSize)
	case c.Partitions < 1:
		return fmt.Errorf("partitions %d: want at least 1", c.Partitions)
	case c.ReplicationFactor < 1:
		return fmt.Errorf("replication factor %d: want at least 1", c.ReplicationFactor)
	case c.Acks != "all" && c.Acks != "leader" && c.Acks != "none":
		return fmt.Errorf("acks %q: want all, leader or none", c.Acks)
	case c.Linger < 0 || c.Linger > time.Minute:
		return fmt.Errorf("linger %v: want 0 to 1m", c.Linger)
	case int64(c.BatchMaxBytes) < int64(c.RecordSize)+128:
		return fmt.Errorf("batch max bytes %d: must exceed the record size (%d) by at least 128 bytes of batch overhead", c.BatchMaxBytes, c.RecordSize)
	case c.Producers < 1:
		return fmt.Errorf("producers %d: want at least 1", c.Producers)
	case c.Producers > c.Records:
		return fmt.Errorf("producers %d: more producers than records (%d)", c.Producers, c.Records)
	case c.Rate < 0:
		return fmt.Errorf("rate %d: want 0 (unlimited) or more", c.Rate)
	case c.Partitioner != PartitionManual && c.Partitioner != PartitionRoundRobin && c.Partitioner != PartitionKey:
		return fmt.Errorf("partitioner %q: want %s, %s or %s", c.Partitioner, PartitionManual, PartitionRoundRobin, PartitionKey)
	case c.Timeout <= 0:
		return errors.New("timeout must be positive")
	}
	if _, err := compressionCodec(c.Compression); err != nil {
		return err
	}
	return nil
}
