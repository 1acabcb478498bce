package broker

import (
	"github.com/ordo-broker/ordo/broker/clock"
	"log/slog"
	"math"
	"net"
	"strconv"
	"time"

	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/ordo-broker/ordo/broker/wire"
)

// Config is a broker's static configuration. The zero value is not usable:
// start from DefaultConfig.
type Config struct {
	// NodeID is the broker's id (Kafka's node.id). Default 0.
	NodeID int32
	// Listen is the TCP address to accept clients on. Default
	// 127.0.0.1:9092; use 127.0.0.1:0 for an ephemeral port.
	Listen string
	// Listener, if set, is used instead of listening on Listen; the broker
	// closes it on Close. ordotest passes one so a restarted broker keeps
	// its port without racing other sockets for it.
	Listener net.Listener
	// Advertise is the host:port put in Metadata responses. Empty means the
	// address the listener actually bound. Advertise an IPv4 literal:
	// librdkafka may resolve "localhost" to ::1.
	Advertise string
	// DataDir holds the partition folders and the broker's metadata.
	// Default "./ordo-data".
	DataDir string
	// FS is the filesystem the broker stores everything through. nil means
	// the real one (fs.OS); tests pass fs.NewMem() to simulate crashes.
	FS fs.FS
	// ClusterID is reported in Metadata v2+ and DescribeCluster. Empty means
	// one is generated on first start and kept in the data directory.
	ClusterID string
	// AutoCreateTopics is Kafka's auto.create.topics.enable. Default true.
	AutoCreateTopics bool
	// DefaultPartitions is num.partitions, used by auto-creation and by
	// CreateTopics with NumPartitions -1 (KIP-464). Default 1.
	DefaultPartitions int32
	// FlushInterval is log.flush.scheduler.interval.ms: under the
	// interval flush policy (flush.messages > 1), the longest a
	// partition's appended records wait for an fsync (flush.ms, when
	// shorter, wins). Default 1s.
	FlushInterval time.Duration
	// MaxFrameBytes bounds a request frame (socket.request.max.bytes).
	// Default 100 MiB.
	MaxFrameBytes int32
	// MaxConnections is max.connections: while this many client
	// connections are open, a new one is accepted and closed at once
	// (with a rate-limited warning). 0 (the default) means three quarters
	// of the process's open-file limit (RLIMIT_NOFILE) when it is read at
	// Start, so that connections alone can never take the descriptors the
	// logs need (Kafka's default is no limit); negative means no limit.
	MaxConnections int
	// ConnectionsMaxIdle is connections.max.idle.ms: a connection with no
	// request in flight on which nothing was read or written for this
	// long is closed. A long-poll fetch or a produce waiting for its fsync
	// is in flight. Default 10 minutes, as Kafka; negative means never.
	ConnectionsMaxIdle time.Duration
	// QueuedMaxRequestBytes is queued.max.request.bytes: the memory
	// request frames may hold across all connections, from their first
	// byte until their response is written; when it is spent, the broker
	// stops reading from connections (TCP pushes back) until responses go
	// out. Frames take memory only as their bytes arrive. Default 500 MiB,
	// five frames of the largest size (Kafka's default is no bound);
	// negative means no bound.
	QueuedMaxRequestBytes int64
	// LogCleanerInterval is how often the log cleaner visits every
	// partition: retention (retention.ms, retention.bytes) for
	// cleanup.policy=delete and a compaction pass for compact. Default
	// 30s: Kafka checks retention every 5 minutes
	// (log.retention.check.interval.ms) and its cleaner backs off 15 seconds
	// (log.cleaner.backoff.ms) when idle; Ordo runs both in one loop. Tests
	// set it to milliseconds; negative turns the cleaner off.
	LogCleanerInterval time.Duration
	// OffsetsTopicPartitions is offsets.topic.num.partitions: how many
	// partitions __consumer_offsets gets when the group coordinator creates
	// it, on the first group request. Default 50, as Kafka; tests use a
	// few. Changing it later has no effect on an existing topic.
	OffsetsTopicPartitions int32
	// GroupInitialRebalanceDelay is group.initial.rebalance.delay.ms: how
	// long the first rebalance of an empty group waits for more members
	// (KIP-134). Default 3s, as Kafka; 0 means no wait (tests).
	GroupInitialRebalanceDelay time.Duration
	// GroupMinSessionTimeout and GroupMaxSessionTimeout bound the session
	// timeout a group member may ask for (group.min.session.timeout.ms,
	// default 6s, and group.max.session.timeout.ms, default 30m). Tests that
	// want members to expire quickly lower the minimum.
	GroupMinSessionTimeout time.Duration
	GroupMaxSessionTimeout time.Duration
	// MaxOpenFiles bounds the descriptors the partition logs hold open:
	// segment and index files are closed when idle and reopened on use
	// (fs.FileCache), so the broker's descriptors do not grow with its
	// partitions. Zero means half the process's open-files limit
	// (RLIMIT_NOFILE), at most 65,536, leaving the rest to connections.
	MaxOpenFiles int
	// Logger receives the broker's logs. nil means slog.Default().
	Logger *slog.Logger
	// Clock is the broker's clock: every reading of the time and every
	// timer of the broker goes through it. nil means the wall clock;
	// tests may drive a clock.Fake.
	Clock clock.Clock
}

// DefaultConfig returns the configuration `ordo` runs with when given no
// flags.
func DefaultConfig() Config {
	return Config{
		NodeID:            0,
		Listen:            "127.0.0.1:9092",
		DataDir:           "ordo-data",
		AutoCreateTopics:  true,
		DefaultPartitions: 1,
		FlushInterval:     time.Second,
		MaxFrameBytes:     100 << 20,

		ConnectionsMaxIdle:    10 * time.Minute,
		QueuedMaxRequestBytes: wire.DefaultQueuedMaxRequestBytes,

		LogCleanerInterval: 30 * time.Second,

		OffsetsTopicPartitions:     50,
		GroupInitialRebalanceDelay: 3 * time.Second,
		GroupMinSessionTimeout:     6 * time.Second,
		GroupMaxSessionTimeout:     30 * time.Minute,
	}
}

// withConnectionDefaults fills in the connection limits: Kafka's idle
// timeout, the request memory bound, and max.connections from the
// process's open-file limit.
func (c Config) withConnectionDefaults() Config {
	d := DefaultConfig()
	if c.ConnectionsMaxIdle == 0 {
		c.ConnectionsMaxIdle = d.ConnectionsMaxIdle
	}
	if c.QueuedMaxRequestBytes == 0 {
		c.QueuedMaxRequestBytes = d.QueuedMaxRequestBytes
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = -1
		if n, ok := openFileLimit(); ok {
			c.MaxConnections = int(min(n/4*3, math.MaxInt32))
		}
	}
	return c
}

// wireConfig is what the wire server gets of the configuration.
func (c Config) wireConfig(logger *slog.Logger) wire.Config {
	return wire.Config{
		MaxFrameBytes:         c.MaxFrameBytes,
		MaxConnections:        max(c.MaxConnections, 0),
		IdleTimeout:           max(c.ConnectionsMaxIdle, 0),
		QueuedMaxRequestBytes: c.QueuedMaxRequestBytes,
		Clock:                 c.Clock,
		Logger:                logger,
	}
}

// connectionConfigs adds the connection limits to the configs
// DescribeConfigs reports, in Kafka's terms (no limit: max.connections
// 2147483647, the others -1).
func (c Config) connectionConfigs(m map[string]string) {
	maxConns := int64(c.MaxConnections)
	if maxConns < 0 {
		maxConns = math.MaxInt32
	}
	idle := c.ConnectionsMaxIdle.Milliseconds()
	if c.ConnectionsMaxIdle < 0 {
		idle = -1
	}
	m["max.connections"] = strconv.FormatInt(maxConns, 10)
	m["connections.max.idle.ms"] = strconv.FormatInt(idle, 10)
	m["queued.max.request.bytes"] = strconv.FormatInt(max(c.QueuedMaxRequestBytes, -1), 10)
	m["socket.request.max.bytes"] = strconv.FormatInt(int64(c.MaxFrameBytes), 10)
}
