package storage

import (
	"math"
	"time"
)

// Config is the part of a topic's configuration the log obeys.
type Config struct {
	// SegmentBytes is segment.bytes: the active segment rolls when an append
	// would take it past this size. Default 1 GiB. Capped at 2 GiB - 1
	// because index entries hold 32-bit file positions, as Kafka's do.
	SegmentBytes int64
	// SegmentMs is segment.ms: the active segment rolls when its first append
	// is older than this. Default 7 days.
	SegmentMs time.Duration
	// IndexIntervalBytes is index.interval.bytes: how many log bytes lie
	// between two offset-index entries. Default 4096. Smaller means faster
	// lookups and larger indexes.
	IndexIntervalBytes int
}

// DefaultConfig returns Kafka's defaults.
func DefaultConfig() Config {
	return Config{
		SegmentBytes:       1 << 30,
		SegmentMs:          7 * 24 * time.Hour,
		IndexIntervalBytes: 4096,
	}
}

// normalized replaces zero or negative fields by their defaults.
func (c Config) normalized() Config {
	d := DefaultConfig()
	if c.SegmentBytes <= 0 {
		c.SegmentBytes = d.SegmentBytes
	}
	if c.SegmentBytes > math.MaxInt32 {
		c.SegmentBytes = math.MaxInt32
	}
	if c.SegmentMs <= 0 {
		c.SegmentMs = d.SegmentMs
	}
	if c.IndexIntervalBytes <= 0 {
		c.IndexIntervalBytes = d.IndexIntervalBytes
	}
	return c
}
