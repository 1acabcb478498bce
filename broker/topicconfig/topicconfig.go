package topicconfig

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Config is a topic's effective configuration: Ordo's defaults with the
// topic's overrides applied. Field comments give the Kafka name; the
// documentation Describe returns (see specs.go) gives the meaning.
type Config struct {
	// CleanupPolicy is cleanup.policy: "delete", "compact", both, or
	// neither (an empty list: keep every segment). Default [delete].
	CleanupPolicy []string
	// CompressionType is compression.type; always "producer" in Ordo.
	CompressionType string
	// DeleteRetentionMs is delete.retention.ms (tombstone retention on
	// compacted topics). Default 86400000.
	DeleteRetentionMs int64
	// FlushMessages is flush.messages. 1 (Ordo's default) means fsync
	// before acknowledging each append; larger values select the interval
	// policy. See SyncEachAppend and FlushInterval.
	FlushMessages int64
	// FlushMs is flush.ms, the longest appended data may stay unsynced
	// under the interval policy. Default 9223372036854775807 (no bound
	// beyond the broker's interval).
	FlushMs int64
	// IndexIntervalBytes is index.interval.bytes. Default 4096.
	IndexIntervalBytes int32
	// MaxCompactionLagMs is max.compaction.lag.ms. Default
	// 9223372036854775807.
	MaxCompactionLagMs int64
	// MaxMessageBytes is max.message.bytes, the largest record batch a
	// producer may append. Default 1048588.
	MaxMessageBytes int32
	// MessageTimestampAfterMaxMs is message.timestamp.after.max.ms
	// (KIP-937): how far in the future a CreateTime timestamp may be.
	// Default 3600000 (Kafka 4.0, KIP-1030).
	MessageTimestampAfterMaxMs int64
	// MessageTimestampBeforeMaxMs is message.timestamp.before.max.ms
	// (KIP-937): how far in the past a CreateTime timestamp may be.
	// Default 9223372036854775807.
	MessageTimestampBeforeMaxMs int64
	// MessageTimestampType is message.timestamp.type: "CreateTime"
	// (default) or "LogAppendTime".
	MessageTimestampType string
	// MinCleanableDirtyRatio is min.cleanable.dirty.ratio, in [0,1].
	// Default 0.5.
	MinCleanableDirtyRatio float64
	// MinCompactionLagMs is min.compaction.lag.ms. Default 0.
	MinCompactionLagMs int64
	// MinInsyncReplicas is min.insync.replicas. Default 1.
	MinInsyncReplicas int32
	// RetentionBytes is retention.bytes per partition; -1 (default) means
	// unlimited.
	RetentionBytes int64
	// RetentionMs is retention.ms; -1 means unlimited. Default 604800000.
	RetentionMs int64
	// SegmentBytes is segment.bytes. Kafka types it INT, so it is
	// validated as one (at most 2147483647, at least 1048576 since Kafka
	// 4.0); it is an int64 here because it is compared with file sizes.
	// Default 1073741824.
	SegmentBytes int64
	// SegmentIndexBytes is segment.index.bytes. Default 10485760.
	SegmentIndexBytes int32
	// SegmentMs is segment.ms. Default 604800000.
	SegmentMs int64
	// UncleanLeaderElectionEnable is unclean.leader.election.enable;
	// always false in Ordo.
	UncleanLeaderElectionEnable bool
}

// Names of cleanup.policy's values and of message.timestamp.type's.
const (
	CleanupDelete  = "delete"
	CleanupCompact = "compact"

	TimestampCreateTime    = "CreateTime"
	TimestampLogAppendTime = "LogAppendTime"
)

// Deletes reports whether cleanup.policy includes "delete": old segments go
// once past retention.ms or retention.bytes.
func (c Config) Deletes() bool { return slices.Contains(c.CleanupPolicy, CleanupDelete) }

// Compacts reports whether cleanup.policy includes "compact".
func (c Config) Compacts() bool { return slices.Contains(c.CleanupPolicy, CleanupCompact) }

// SyncEachAppend reports whether the topic uses the per-append flush policy:
// the partition is fsynced before an append is acknowledged. That is
// flush.messages=1, Ordo's default. Kafka's flush.messages=N means "fsync
// once N messages are unsynced"; Ordo does not count messages, so every N > 1
// selects the interval policy instead (see FlushInterval).
func (c Config) SyncEachAppend() bool { return c.FlushMessages <= 1 }

// FlushInterval is how often the interval flusher fsyncs this topic's
// partitions when SyncEachAppend is false: the broker's interval
// (log.flush.scheduler.interval.ms, broker.Config.FlushInterval), shortened
// to flush.ms when that is smaller. It is never less than a millisecond, so
// flush.ms=0 means "every millisecond", not a busy loop.
func (c Config) FlushInterval(broker time.Duration) time.Duration {
	d := broker
	// Compare in milliseconds: flush.ms may be Long.MAX, which does not
	// fit in a time.Duration.
	if c.FlushMs < broker.Milliseconds() {
		d = time.Duration(c.FlushMs) * time.Millisecond
	}
	return max(d, time.Millisecond)
}

// Clone returns a copy of c that shares no memory with it.
func (c Config) Clone() Config {
	c.CleanupPolicy = slices.Clone(c.CleanupPolicy)
	return c
}

// Defaults returns Ordo's default topic configuration: Kafka's defaults
// except flush.messages (1, so every append is fsynced before it is
// acknowledged).
func Defaults() Config {
	var c Config
	for _, s := range specs {
		if err := s.set(&c, s.def); err != nil {
			panic("topicconfig: invalid default for " + s.name + ": " + err.Error())
		}
	}
	return c
}

// Names lists every supported topic config name, sorted.
func Names() []string {
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.name
	}
	return names
}

// ErrInvalidConfig is what every configuration error wraps; the protocol
// answer is INVALID_CONFIG (40). Kafka answers INVALID_CONFIG for unknown
// topic config names too, so there is no separate sentinel for them: the
// message says which it is.
var ErrInvalidConfig = errors.New("invalid config")

// ErrInvalidRequest is wrapped by the errors that Kafka reports as
// INVALID_REQUEST (42) rather than INVALID_CONFIG: a malformed
// IncrementalAlterConfigs resource (duplicate names, a null value for an
// operation that needs one, an unknown operation).
var ErrInvalidRequest = errors.New("invalid request")

// Kafka error codes Error.Code returns.
const (
	CodeInvalidConfig  int16 = 40
	CodeInvalidRequest int16 = 42
)

// Error is a configuration error. Message is what a Kafka broker would put
// in the response's error message, e.g. "Invalid value abc for
// configuration retention.ms: Not a number of type LONG".
type Error struct {
	// Name is the config the error is about ("" if none in particular).
	Name    string
	Message string

	kind error // ErrInvalidConfig or ErrInvalidRequest; nil means the former
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns ErrInvalidConfig or ErrInvalidRequest.
func (e *Error) Unwrap() error {
	if e.kind == nil {
		return ErrInvalidConfig
	}
	return e.kind
}

// Code is the Kafka error code to answer with: CodeInvalidConfig or
// CodeInvalidRequest.
func (e *Error) Code() int16 {
	if errors.Is(e, ErrInvalidRequest) {
		return CodeInvalidRequest
	}
	return CodeInvalidConfig
}

func configErr(name, format string, args ...any) *Error {
	return &Error{Name: name, Message: fmt.Sprintf(format, args...), kind: ErrInvalidConfig}
}

func requestErr(name, format string, args ...any) *Error {
	return &Error{Name: name, Message: fmt.Sprintf(format, args...), kind: ErrInvalidRequest}
}

// invalidValue formats Kafka's ConfigException(name, value, message).
func invalidValue(name, value, msg string) *Error {
	return configErr(name, "Invalid value %s for configuration %s: %s", value, name, msg)
}

// Build validates a topic's overrides (config name to raw value) and returns
// the effective Config: Defaults with the overrides applied. It is what
// CreateTopics, AlterConfigs and (after ApplyIncremental)
// IncrementalAlterConfigs call before storing anything.
//
// Like Kafka (LogConfig.validate), it first rejects unknown names ("Unknown
// topic config name: x"), then parses and range-checks each value, then
// checks constraints between configs (min.compaction.lag.ms must not exceed
// max.compaction.lag.ms). Names and values are checked in sorted order so
// that the error reported is deterministic. Every error is an *Error
// wrapping ErrInvalidConfig.
//
// A map cannot hold Kafka's null: CreateTopics requests with null values are
// refused by CreateTopicsOverrides before Build is reached.
func Build(overrides map[string]string) (Config, error) {
	names := make([]string, 0, len(overrides))
	for name := range overrides {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if _, ok := specByName[name]; !ok {
			return Config{}, unknownName(name)
		}
	}
	c := Defaults()
	for _, name := range names {
		if err := specByName[name].set(&c, overrides[name]); err != nil {
			return Config{}, err
		}
	}
	// LogConfig.validateValues.
	if c.MinCompactionLagMs > c.MaxCompactionLagMs {
		return Config{}, configErr(nameMinCompactionLagMs,
			"conflict topic config setting %s (%d) > %s (%d)",
			nameMinCompactionLagMs, c.MinCompactionLagMs, nameMaxCompactionLagMs, c.MaxCompactionLagMs)
	}
	return c, nil
}

func unknownName(name string) *Error {
	if why, ok := unsupported[name]; ok {
		return configErr(name, "Topic config %s is not supported by Ordo: %s", name, why)
	}
	return configErr(name, "Unknown topic config name: %s", name)
}

// Pair is a config as CreateTopics carries it; a nil Value is Kafka's null.
type Pair struct {
	Name  string
	Value *string
}

// CreateTopicsOverrides turns a CreateTopics topic's config list into the
// overrides map Build takes. Kafka refuses null values there with
// INVALID_CONFIG, naming every null config ("Null value not supported for
// topic configs: a,b"); a name given twice keeps its last value, as in
// Kafka. Names and values are not validated here: that is Build's job.
func CreateTopicsOverrides(pairs []Pair) (map[string]string, error) {
	out := make(map[string]string, len(pairs))
	var nulls []string
	for _, p := range pairs {
		if p.Value == nil {
			nulls = append(nulls, p.Name)
			continue
		}
		out[p.Name] = *p.Value
	}
	if len(nulls) > 0 {
		return nil, configErr(nulls[0], "Null value not supported for topic configs: %s", strings.Join(nulls, ","))
	}
	return out, nil
}
