package topicconfig

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func defaultConfig() Config {
	return Config{
		CleanupPolicy:               []string{"delete"},
		CompressionType:             "producer",
		DeleteRetentionMs:           86400000,
		FlushMessages:               1,
		FlushMs:                     math.MaxInt64,
		IndexIntervalBytes:          4096,
		MaxCompactionLagMs:          math.MaxInt64,
		MaxMessageBytes:             1048588,
		MessageTimestampAfterMaxMs:  3600000,
		MessageTimestampBeforeMaxMs: math.MaxInt64,
		MessageTimestampType:        "CreateTime",
		MinCleanableDirtyRatio:      0.5,
		MinCompactionLagMs:          0,
		MinInsyncReplicas:           1,
		RetentionBytes:              -1,
		RetentionMs:                 604800000,
		SegmentBytes:                1073741824,
		SegmentIndexBytes:           10485760,
		SegmentMs:                   604800000,
		UncleanLeaderElectionEnable: false,
	}
}

func TestDefaults(t *testing.T) {
	d := Defaults()
	assert.Equal(t, defaultConfig(), d)
	assert.True(t, d.Deletes())
	assert.False(t, d.Compacts())
	assert.True(t, d.SyncEachAppend(), "Ordo's promise: fsync before ack by default")

	// Each call is a fresh value.
	d.CleanupPolicy[0] = "compact"
	assert.Equal(t, []string{"delete"}, Defaults().CleanupPolicy)

	for _, in := range []map[string]string{nil, {}} {
		c, err := Build(in)
		require.NoError(t, err)
		assert.Equal(t, defaultConfig(), c)
	}
}

func TestNames(t *testing.T) {
	names := Names()
	assert.True(t, slices.IsSorted(names))
	assert.Equal(t, []string{
		"cleanup.policy",
		"compression.type",
		"delete.retention.ms",
		"flush.messages",
		"flush.ms",
		"index.interval.bytes",
		"max.compaction.lag.ms",
		"max.message.bytes",
		"message.timestamp.after.max.ms",
		"message.timestamp.before.max.ms",
		"message.timestamp.type",
		"min.cleanable.dirty.ratio",
		"min.compaction.lag.ms",
		"min.insync.replicas",
		"retention.bytes",
		"retention.ms",
		"segment.bytes",
		"segment.index.bytes",
		"segment.ms",
		"unclean.leader.election.enable",
	}, names)
	for _, n := range names {
		_, isUnsupported := unsupported[n]
		assert.False(t, isUnsupported, n)
	}
	names[0] = "mutated"
	assert.Equal(t, "cleanup.policy", Names()[0], "Names returns a copy")
}

func TestBuildValid(t *testing.T) {
	tests := []struct {
		name  string
		value string
		want  func(c *Config)
	}{
		{"cleanup.policy", "compact", func(c *Config) { c.CleanupPolicy = []string{"compact"} }},
		{"cleanup.policy", "delete", func(c *Config) { c.CleanupPolicy = []string{"delete"} }},
		{"cleanup.policy", "compact,delete", func(c *Config) { c.CleanupPolicy = []string{"compact", "delete"} }},
		{"cleanup.policy", " delete , compact ", func(c *Config) { c.CleanupPolicy = []string{"delete", "compact"} }},
		{"cleanup.policy", "", func(c *Config) { c.CleanupPolicy = []string{} }},
		{"cleanup.policy", "  ", func(c *Config) { c.CleanupPolicy = []string{} }},
		{"compression.type", "producer", func(c *Config) {}},
		{"compression.type", " producer ", func(c *Config) {}},
		{"delete.retention.ms", "0", func(c *Config) { c.DeleteRetentionMs = 0 }},
		{"delete.retention.ms", "1000", func(c *Config) { c.DeleteRetentionMs = 1000 }},
		{"flush.messages", "1", func(c *Config) { c.FlushMessages = 1 }},
		{"flush.messages", "9223372036854775807", func(c *Config) { c.FlushMessages = math.MaxInt64 }},
		{"flush.messages", "+5", func(c *Config) { c.FlushMessages = 5 }},
		{"flush.ms", "0", func(c *Config) { c.FlushMs = 0 }},
		{"flush.ms", "100", func(c *Config) { c.FlushMs = 100 }},
		{"index.interval.bytes", "0", func(c *Config) { c.IndexIntervalBytes = 0 }},
		{"index.interval.bytes", "2147483647", func(c *Config) { c.IndexIntervalBytes = math.MaxInt32 }},
		{"max.compaction.lag.ms", "1", func(c *Config) { c.MaxCompactionLagMs = 1 }},
		{"max.message.bytes", "0", func(c *Config) { c.MaxMessageBytes = 0 }},
		{"max.message.bytes", "10485760", func(c *Config) { c.MaxMessageBytes = 10485760 }},
		{"message.timestamp.after.max.ms", "0", func(c *Config) { c.MessageTimestampAfterMaxMs = 0 }},
		{"message.timestamp.after.max.ms", "9223372036854775807", func(c *Config) { c.MessageTimestampAfterMaxMs = math.MaxInt64 }},
		{"message.timestamp.before.max.ms", "0", func(c *Config) { c.MessageTimestampBeforeMaxMs = 0 }},
		{"message.timestamp.before.max.ms", "86400000", func(c *Config) { c.MessageTimestampBeforeMaxMs = 86400000 }},
		{"message.timestamp.type", "CreateTime", func(c *Config) { c.MessageTimestampType = "CreateTime" }},
		{"message.timestamp.type", "LogAppendTime", func(c *Config) { c.MessageTimestampType = "LogAppendTime" }},
		{"message.timestamp.type", "\tLogAppendTime\n", func(c *Config) { c.MessageTimestampType = "LogAppendTime" }},
		{"min.cleanable.dirty.ratio", "0", func(c *Config) { c.MinCleanableDirtyRatio = 0 }},
		{"min.cleanable.dirty.ratio", "1", func(c *Config) { c.MinCleanableDirtyRatio = 1 }},
		{"min.cleanable.dirty.ratio", "0.25", func(c *Config) { c.MinCleanableDirtyRatio = 0.25 }},
		{"min.cleanable.dirty.ratio", "1e-3", func(c *Config) { c.MinCleanableDirtyRatio = 0.001 }},
		{"min.compaction.lag.ms", "0", func(c *Config) { c.MinCompactionLagMs = 0 }},
		{"min.compaction.lag.ms", "60000", func(c *Config) { c.MinCompactionLagMs = 60000 }},
		{"min.insync.replicas", "1", func(c *Config) { c.MinInsyncReplicas = 1 }},
		{"min.insync.replicas", "2", func(c *Config) { c.MinInsyncReplicas = 2 }},
		{"retention.bytes", "-1", func(c *Config) { c.RetentionBytes = -1 }},
		{"retention.bytes", "-100", func(c *Config) { c.RetentionBytes = -100 }},
		{"retention.bytes", "1073741824", func(c *Config) { c.RetentionBytes = 1 << 30 }},
		{"retention.ms", "-1", func(c *Config) { c.RetentionMs = -1 }},
		{"retention.ms", "0", func(c *Config) { c.RetentionMs = 0 }},
		{"retention.ms", " 3600000 ", func(c *Config) { c.RetentionMs = 3600000 }},
		{"segment.bytes", "1048576", func(c *Config) { c.SegmentBytes = 1048576 }},
		{"segment.bytes", "2147483647", func(c *Config) { c.SegmentBytes = math.MaxInt32 }},
		{"segment.index.bytes", "4", func(c *Config) { c.SegmentIndexBytes = 4 }},
		{"segment.index.bytes", "1048576", func(c *Config) { c.SegmentIndexBytes = 1048576 }},
		{"segment.ms", "1", func(c *Config) { c.SegmentMs = 1 }},
		{"segment.ms", "3600000", func(c *Config) { c.SegmentMs = 3600000 }},
		{"unclean.leader.election.enable", "false", func(c *Config) {}},
		{"unclean.leader.election.enable", " FALSE ", func(c *Config) {}},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.name] = true
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			got, err := Build(map[string]string{tt.name: tt.value})
			require.NoError(t, err)
			want := defaultConfig()
			tt.want(&want)
			assert.Equal(t, want, got)
		})
	}
	for _, n := range Names() {
		assert.True(t, covered[n], "no valid-value case for %s", n)
	}
}

func TestBuildMany(t *testing.T) {
	got, err := Build(map[string]string{
		"cleanup.policy":        "compact",
		"retention.ms":          "-1",
		"min.compaction.lag.ms": "100",
		"max.compaction.lag.ms": "100",
		"flush.messages":        "9223372036854775807",
		"flush.ms":              "250",
	})
	require.NoError(t, err)
	assert.True(t, got.Compacts())
	assert.False(t, got.Deletes())
	assert.Equal(t, int64(-1), got.RetentionMs)
	assert.Equal(t, int64(100), got.MinCompactionLagMs)
	assert.Equal(t, int64(100), got.MaxCompactionLagMs)
	assert.False(t, got.SyncEachAppend())
	assert.Equal(t, 250*time.Millisecond, got.FlushInterval(time.Second))
}

func TestBuildInvalid(t *testing.T) {
	tests := []struct {
		overrides map[string]string
		wantName  string
		wantMsg   string
	}{
		// Unknown and unsupported names.
		{map[string]string{"retention.mss": "1"}, "retention.mss",
			"Unknown topic config name: retention.mss"},
		{map[string]string{"": "1"}, "",
			"Unknown topic config name: "},
		{map[string]string{"preallocate": "true"}, "preallocate",
			"Topic config preallocate is not supported by Ordo: Ordo does not preallocate segment files"},
		{map[string]string{"remote.storage.enable": "false"}, "remote.storage.enable",
			"Topic config remote.storage.enable is not supported by Ordo: Ordo has no tiered storage"},
		{map[string]string{"segment.jitter.ms": "0"}, "segment.jitter.ms",
			"Topic config segment.jitter.ms is not supported by Ordo: Ordo rolls segments at segment.ms without jitter"},
		// Unknown names are reported before bad values, whatever the order.
		{map[string]string{"a.unknown": "1", "retention.ms": "abc"}, "a.unknown",
			"Unknown topic config name: a.unknown"},
		{map[string]string{"zz.unknown": "1", "retention.ms": "abc"}, "zz.unknown",
			"Unknown topic config name: zz.unknown"},
		// Values are checked in name order.
		{map[string]string{"segment.ms": "0", "retention.ms": "abc"}, "retention.ms",
			"Invalid value abc for configuration retention.ms: Not a number of type LONG"},

		// cleanup.policy
		{map[string]string{"cleanup.policy": "remove"}, "cleanup.policy",
			"Invalid value remove for configuration cleanup.policy: String must be one of: compact, delete"},
		{map[string]string{"cleanup.policy": "Delete"}, "cleanup.policy",
			"Invalid value Delete for configuration cleanup.policy: String must be one of: compact, delete"},
		{map[string]string{"cleanup.policy": "delete,delete"}, "cleanup.policy",
			"Configuration 'cleanup.policy' values must not be duplicated."},
		{map[string]string{"cleanup.policy": "delete,"}, "cleanup.policy",
			"Configuration 'cleanup.policy' values must not be empty."},
		{map[string]string{"cleanup.policy": "compact, ,delete"}, "cleanup.policy",
			"Configuration 'cleanup.policy' values must not be empty."},
		// compression.type
		{map[string]string{"compression.type": "gzip"}, "compression.type",
			"Invalid value gzip for configuration compression.type: Ordo stores batches as produced; only compression.type=producer is supported"},
		{map[string]string{"compression.type": "uncompressed"}, "compression.type",
			"Invalid value uncompressed for configuration compression.type: Ordo stores batches as produced; only compression.type=producer is supported"},
		{map[string]string{"compression.type": "zstd"}, "compression.type",
			"Invalid value zstd for configuration compression.type: Ordo stores batches as produced; only compression.type=producer is supported"},
		{map[string]string{"compression.type": "Producer"}, "compression.type",
			"Invalid value Producer for configuration compression.type: Ordo stores batches as produced; only compression.type=producer is supported"},
		// delete.retention.ms
		{map[string]string{"delete.retention.ms": "1d"}, "delete.retention.ms",
			"Invalid value 1d for configuration delete.retention.ms: Not a number of type LONG"},
		{map[string]string{"delete.retention.ms": "-1"}, "delete.retention.ms",
			"Invalid value -1 for configuration delete.retention.ms: Value must be at least 0"},
		// flush.messages
		{map[string]string{"flush.messages": "always"}, "flush.messages",
			"Invalid value always for configuration flush.messages: Not a number of type LONG"},
		{map[string]string{"flush.messages": "0"}, "flush.messages",
			"Invalid value 0 for configuration flush.messages: Value must be at least 1"},
		{map[string]string{"flush.messages": "9223372036854775808"}, "flush.messages",
			"Invalid value 9223372036854775808 for configuration flush.messages: Not a number of type LONG"},
		// flush.ms
		{map[string]string{"flush.ms": "1.5"}, "flush.ms",
			"Invalid value 1.5 for configuration flush.ms: Not a number of type LONG"},
		{map[string]string{"flush.ms": "-1"}, "flush.ms",
			"Invalid value -1 for configuration flush.ms: Value must be at least 0"},
		// index.interval.bytes
		{map[string]string{"index.interval.bytes": "4k"}, "index.interval.bytes",
			"Invalid value 4k for configuration index.interval.bytes: Not a number of type INT"},
		{map[string]string{"index.interval.bytes": "-1"}, "index.interval.bytes",
			"Invalid value -1 for configuration index.interval.bytes: Value must be at least 0"},
		{map[string]string{"index.interval.bytes": "2147483648"}, "index.interval.bytes",
			"Invalid value 2147483648 for configuration index.interval.bytes: Not a number of type INT"},
		// max.compaction.lag.ms
		{map[string]string{"max.compaction.lag.ms": "x"}, "max.compaction.lag.ms",
			"Invalid value x for configuration max.compaction.lag.ms: Not a number of type LONG"},
		{map[string]string{"max.compaction.lag.ms": "0"}, "max.compaction.lag.ms",
			"Invalid value 0 for configuration max.compaction.lag.ms: Value must be at least 1"},
		// max.message.bytes
		{map[string]string{"max.message.bytes": "1MB"}, "max.message.bytes",
			"Invalid value 1MB for configuration max.message.bytes: Not a number of type INT"},
		{map[string]string{"max.message.bytes": "-1"}, "max.message.bytes",
			"Invalid value -1 for configuration max.message.bytes: Value must be at least 0"},
		// message.timestamp.after.max.ms / before.max.ms
		{map[string]string{"message.timestamp.after.max.ms": "soon"}, "message.timestamp.after.max.ms",
			"Invalid value soon for configuration message.timestamp.after.max.ms: Not a number of type LONG"},
		{map[string]string{"message.timestamp.after.max.ms": "-1"}, "message.timestamp.after.max.ms",
			"Invalid value -1 for configuration message.timestamp.after.max.ms: Value must be at least 0"},
		{map[string]string{"message.timestamp.before.max.ms": "late"}, "message.timestamp.before.max.ms",
			"Invalid value late for configuration message.timestamp.before.max.ms: Not a number of type LONG"},
		{map[string]string{"message.timestamp.before.max.ms": "-5"}, "message.timestamp.before.max.ms",
			"Invalid value -5 for configuration message.timestamp.before.max.ms: Value must be at least 0"},
		// message.timestamp.type
		{map[string]string{"message.timestamp.type": "createtime"}, "message.timestamp.type",
			"Invalid value createtime for configuration message.timestamp.type: String must be one of: CreateTime, LogAppendTime"},
		{map[string]string{"message.timestamp.type": ""}, "message.timestamp.type",
			"Invalid value  for configuration message.timestamp.type: String must be one of: CreateTime, LogAppendTime"},
		// min.cleanable.dirty.ratio
		{map[string]string{"min.cleanable.dirty.ratio": "half"}, "min.cleanable.dirty.ratio",
			"Invalid value half for configuration min.cleanable.dirty.ratio: Not a number of type DOUBLE"},
		{map[string]string{"min.cleanable.dirty.ratio": "NaN"}, "min.cleanable.dirty.ratio",
			"Invalid value NaN for configuration min.cleanable.dirty.ratio: Not a number of type DOUBLE"},
		{map[string]string{"min.cleanable.dirty.ratio": "-0.1"}, "min.cleanable.dirty.ratio",
			"Invalid value -0.1 for configuration min.cleanable.dirty.ratio: Value must be at least 0"},
		{map[string]string{"min.cleanable.dirty.ratio": "2"}, "min.cleanable.dirty.ratio",
			"Invalid value 2.0 for configuration min.cleanable.dirty.ratio: Value must be no more than 1"},
		// min.compaction.lag.ms, alone and against max.compaction.lag.ms
		{map[string]string{"min.compaction.lag.ms": "1m"}, "min.compaction.lag.ms",
			"Invalid value 1m for configuration min.compaction.lag.ms: Not a number of type LONG"},
		{map[string]string{"min.compaction.lag.ms": "-1"}, "min.compaction.lag.ms",
			"Invalid value -1 for configuration min.compaction.lag.ms: Value must be at least 0"},
		{map[string]string{"min.compaction.lag.ms": "200", "max.compaction.lag.ms": "100"}, "min.compaction.lag.ms",
			"conflict topic config setting min.compaction.lag.ms (200) > max.compaction.lag.ms (100)"},
		// min.insync.replicas
		{map[string]string{"min.insync.replicas": "one"}, "min.insync.replicas",
			"Invalid value one for configuration min.insync.replicas: Not a number of type INT"},
		{map[string]string{"min.insync.replicas": "0"}, "min.insync.replicas",
			"Invalid value 0 for configuration min.insync.replicas: Value must be at least 1"},
		// retention.bytes (no lower bound: only non-numbers fail)
		{map[string]string{"retention.bytes": "1GB"}, "retention.bytes",
			"Invalid value 1GB for configuration retention.bytes: Not a number of type LONG"},
		// retention.ms
		{map[string]string{"retention.ms": "abc"}, "retention.ms",
			"Invalid value abc for configuration retention.ms: Not a number of type LONG"},
		{map[string]string{"retention.ms": ""}, "retention.ms",
			"Invalid value  for configuration retention.ms: Not a number of type LONG"},
		{map[string]string{"retention.ms": "-2"}, "retention.ms",
			"Invalid value -2 for configuration retention.ms: Value must be at least -1"},
		// segment.bytes (Kafka INT, at least 1 MiB since Kafka 4.0)
		{map[string]string{"segment.bytes": "1G"}, "segment.bytes",
			"Invalid value 1G for configuration segment.bytes: Not a number of type INT"},
		{map[string]string{"segment.bytes": "14"}, "segment.bytes",
			"Invalid value 14 for configuration segment.bytes: Value must be at least 1048576"},
		{map[string]string{"segment.bytes": "1048575"}, "segment.bytes",
			"Invalid value 1048575 for configuration segment.bytes: Value must be at least 1048576"},
		{map[string]string{"segment.bytes": "4294967296"}, "segment.bytes",
			"Invalid value 4294967296 for configuration segment.bytes: Not a number of type INT"},
		// segment.index.bytes
		{map[string]string{"segment.index.bytes": "big"}, "segment.index.bytes",
			"Invalid value big for configuration segment.index.bytes: Not a number of type INT"},
		{map[string]string{"segment.index.bytes": "3"}, "segment.index.bytes",
			"Invalid value 3 for configuration segment.index.bytes: Value must be at least 4"},
		// segment.ms
		{map[string]string{"segment.ms": "1h"}, "segment.ms",
			"Invalid value 1h for configuration segment.ms: Not a number of type LONG"},
		{map[string]string{"segment.ms": "0"}, "segment.ms",
			"Invalid value 0 for configuration segment.ms: Value must be at least 1"},
		// unclean.leader.election.enable
		{map[string]string{"unclean.leader.election.enable": "yes"}, "unclean.leader.election.enable",
			"Invalid value yes for configuration unclean.leader.election.enable: Expected value to be either true or false"},
		{map[string]string{"unclean.leader.election.enable": "true"}, "unclean.leader.election.enable",
			"Invalid value true for configuration unclean.leader.election.enable: Ordo never elects a replica that is not in sync; only false is supported"},
		{map[string]string{"unclean.leader.election.enable": "TRUE"}, "unclean.leader.election.enable",
			"Invalid value true for configuration unclean.leader.election.enable: Ordo never elects a replica that is not in sync; only false is supported"},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.wantName] = true
		t.Run(tt.wantMsg, func(t *testing.T) {
			c, err := Build(tt.overrides)
			require.Error(t, err)
			assert.Equal(t, Config{}, c)
			assert.True(t, errors.Is(err, ErrInvalidConfig))
			assert.False(t, errors.Is(err, ErrInvalidRequest))
			var cerr *Error
			require.True(t, errors.As(err, &cerr))
			assert.Equal(t, tt.wantName, cerr.Name)
			assert.Equal(t, tt.wantMsg, cerr.Message)
			assert.Equal(t, tt.wantMsg, err.Error())
			assert.Equal(t, CodeInvalidConfig, cerr.Code())
		})
	}
	for _, n := range Names() {
		assert.True(t, covered[n], "no invalid-value case for %s", n)
	}
}

func TestErrorZeroValueIsInvalidConfig(t *testing.T) {
	err := &Error{Name: "x", Message: "m"}
	assert.ErrorIs(t, err, ErrInvalidConfig)
	assert.Equal(t, CodeInvalidConfig, err.Code())
}

func TestCreateTopicsOverrides(t *testing.T) {
	v := func(s string) *string { return &s }
	tests := []struct {
		name    string
		pairs   []Pair
		want    map[string]string
		wantErr string
	}{
		{"none", nil, map[string]string{}, ""},
		{"values", []Pair{{"retention.ms", v("1000")}, {"cleanup.policy", v("compact")}},
			map[string]string{"retention.ms": "1000", "cleanup.policy": "compact"}, ""},
		{"last duplicate wins", []Pair{{"retention.ms", v("1")}, {"retention.ms", v("2")}},
			map[string]string{"retention.ms": "2"}, ""},
		{"unknown names are Build's business", []Pair{{"nope", v("1")}},
			map[string]string{"nope": "1"}, ""},
		{"nulls", []Pair{{"retention.ms", nil}, {"segment.ms", v("1")}, {"flush.ms", nil}},
			nil, "Null value not supported for topic configs: retention.ms,flush.ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CreateTopicsOverrides(tt.pairs)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.ErrorIs(t, err, ErrInvalidConfig)
				assert.Equal(t, tt.wantErr, err.Error())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestFlushPolicy(t *testing.T) {
	tests := []struct {
		name     string
		messages int64
		flushMs  int64
		broker   time.Duration
		wantSync bool
		wantIvl  time.Duration
	}{
		{"default", 1, math.MaxInt64, time.Second, true, time.Second},
		{"interval, broker's", math.MaxInt64, math.MaxInt64, time.Second, false, time.Second},
		{"interval, flush.ms shorter", 2, 200, time.Second, false, 200 * time.Millisecond},
		{"interval, flush.ms longer", 2, 5000, time.Second, false, time.Second},
		{"interval, flush.ms equal", 2, 1000, time.Second, false, time.Second},
		{"interval, flush.ms 0 floors at 1ms", 2, 0, time.Second, false, time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Defaults()
			c.FlushMessages, c.FlushMs = tt.messages, tt.flushMs
			assert.Equal(t, tt.wantSync, c.SyncEachAppend())
			assert.Equal(t, tt.wantIvl, c.FlushInterval(tt.broker))
		})
	}
}

func TestCleanupPolicyHelpers(t *testing.T) {
	tests := []struct {
		policy          string
		delete, compact bool
	}{
		{"delete", true, false},
		{"compact", false, true},
		{"compact,delete", true, true},
		{"", false, false},
	}
	for _, tt := range tests {
		c, err := Build(map[string]string{"cleanup.policy": tt.policy})
		require.NoError(t, err)
		assert.Equal(t, tt.delete, c.Deletes(), tt.policy)
		assert.Equal(t, tt.compact, c.Compacts(), tt.policy)
	}
}

func TestClone(t *testing.T) {
	a := Defaults()
	b := a.Clone()
	b.CleanupPolicy[0] = "compact"
	assert.Equal(t, []string{"delete"}, a.CleanupPolicy)
}

func TestJavaDouble(t *testing.T) {
	tests := map[float64]string{
		0:       "0.0",
		0.5:     "0.5",
		1:       "1.0",
		0.001:   "0.001",
		0.0001:  "1.0E-4",
		1.5e-5:  "1.5E-5",
		1e7:     "1.0E7",
		1234567: "1234567.0",
		-2:      "-2.0",
	}
	for in, want := range tests {
		assert.Equal(t, want, javaDouble(in), "%v", in)
	}
	assert.Equal(t, "Infinity", javaDouble(math.Inf(1)))
}

// The wire constants are kmsg's, so that handlers can convert directly.
func TestConstantsMatchKmsg(t *testing.T) {
	assert.Equal(t, int8(kmsg.ConfigSourceUnknown), SourceUnknown)
	assert.Equal(t, int8(kmsg.ConfigSourceDynamicTopicConfig), SourceDynamicTopicConfig)
	assert.Equal(t, int8(kmsg.ConfigSourceDynamicBrokerConfig), SourceDynamicBrokerConfig)
	assert.Equal(t, int8(kmsg.ConfigSourceDynamicDefaultBrokerConfig), SourceDynamicDefaultBrokerConfig)
	assert.Equal(t, int8(kmsg.ConfigSourceStaticBrokerConfig), SourceStaticBrokerConfig)
	assert.Equal(t, int8(kmsg.ConfigSourceDefaultConfig), SourceDefaultConfig)

	assert.Equal(t, int8(kmsg.ConfigTypeUnknown), TypeUnknown)
	assert.Equal(t, int8(kmsg.ConfigTypeBoolean), TypeBoolean)
	assert.Equal(t, int8(kmsg.ConfigTypeString), TypeString)
	assert.Equal(t, int8(kmsg.ConfigTypeInt), TypeInt)
	assert.Equal(t, int8(kmsg.ConfigTypeShort), TypeShort)
	assert.Equal(t, int8(kmsg.ConfigTypeLong), TypeLong)
	assert.Equal(t, int8(kmsg.ConfigTypeDouble), TypeDouble)
	assert.Equal(t, int8(kmsg.ConfigTypeList), TypeList)
	assert.Equal(t, int8(kmsg.ConfigTypeClass), TypeClass)
	assert.Equal(t, int8(kmsg.ConfigTypePassword), TypePassword)

	assert.Equal(t, int8(kmsg.IncrementalAlterConfigOpSet), OpSet)
	assert.Equal(t, int8(kmsg.IncrementalAlterConfigOpDelete), OpDelete)
	assert.Equal(t, int8(kmsg.IncrementalAlterConfigOpAppend), OpAppend)
	assert.Equal(t, int8(kmsg.IncrementalAlterConfigOpSubtract), OpSubtract)
}
