package topicconfig

import (
	"math"
	"slices"
	"strconv"
	"strings"
)

// spec is one supported topic config: its Kafka type, Ordo's default (in the
// string form DescribeConfigs reports), the broker config that supplies the
// default (Kafka's ServerTopicConfigSynonyms, reported as a KIP-226 synonym),
// its documentation, and how to parse a raw value into a Config and render it
// back.
type spec struct {
	name   string
	typ    int8
	def    string
	broker string
	doc    string
	// set parses raw as Kafka's ConfigDef would, validates it and stores it
	// in c. Errors are *Error with Kafka's messages.
	set func(c *Config, raw string) error
	// get renders c's value as Kafka's ConfigDef.convertToString does.
	get func(c *Config) string
}

// Config names that code refers to.
const (
	nameCleanupPolicy      = "cleanup.policy"
	nameCompressionType    = "compression.type"
	nameMinCompactionLagMs = "min.compaction.lag.ms"
	nameMaxCompactionLagMs = "max.compaction.lag.ms"
	nameUncleanElection    = "unclean.leader.election.enable"
)

// specs is every supported topic config, sorted by name (init checks).
var specs = []spec{
	listSpec(nameCleanupPolicy, "log.cleanup.policy", []string{CleanupDelete},
		[]string{CleanupCompact, CleanupDelete},
		func(c *Config) *[]string { return &c.CleanupPolicy },
		`The retention policy for old log segments, as a comma-separated list. "delete" (the default) discards segments once they are older than retention.ms or the partition is larger than retention.bytes. "compact" keeps at least the latest record for each key (log compaction). "delete,compact" does both. An empty value does neither: every segment is kept.`),
	compressionSpec(),
	longSpec("delete.retention.ms", "log.cleaner.delete.retention.ms", 86400000, 0,
		func(c *Config) *int64 { return &c.DeleteRetentionMs },
		`How long tombstones (records with a null value) are kept on a compacted topic. It is also how long a consumer reading from the start has to finish reading to be sure it sees a consistent snapshot.`),
	longSpec("flush.messages", "log.flush.interval.messages", 1, 1,
		func(c *Config) *int64 { return &c.FlushMessages },
		`When the partition is fsynced. Ordo implements two policies rather than a message count. 1, Ordo's default (Kafka's is 9223372036854775807), fsyncs before acknowledging every append: an acknowledged produce survives a crash or power loss. Any larger value selects the interval policy: the partition is fsynced every min(log.flush.scheduler.interval.ms, flush.ms), and records acknowledged since the last fsync may be lost in a crash. Values above 1 are not counted: 2 behaves like 9223372036854775807.`),
	longSpec("flush.ms", "log.flush.interval.ms", math.MaxInt64, 0,
		func(c *Config) *int64 { return &c.FlushMs },
		`Under the interval flush policy (flush.messages greater than 1), the longest appended records may stay unsynced: the partition is fsynced every min(log.flush.scheduler.interval.ms, flush.ms), though never more often than once a millisecond. It has no effect with flush.messages=1, where every append is fsynced before it is acknowledged. The default, 9223372036854775807, leaves the broker's interval in charge.`),
	intSpec("index.interval.bytes", "log.index.interval.bytes", 4096, 0,
		func(c *Config) *int32 { return &c.IndexIntervalBytes },
		`How many bytes of records may separate two entries of the offset index. Smaller values make fetches land closer to the requested offset at the cost of a larger index.`),
	longSpec(nameMaxCompactionLagMs, "log.cleaner.max.compaction.lag.ms", math.MaxInt64, 1,
		func(c *Config) *int64 { return &c.MaxCompactionLagMs },
		`The longest a record may stay uncompacted on a compacted topic. Must not be less than min.compaction.lag.ms.`),
	intSpec("max.message.bytes", "message.max.bytes", 1048588, 0,
		func(c *Config) *int32 { return &c.MaxMessageBytes },
		`The largest record batch a producer may append, in bytes (after compression, since Ordo stores batches as produced). Larger batches are refused with MESSAGE_TOO_LARGE. Consumers' fetch sizes must allow batches this large.`),
	longSpec("message.timestamp.after.max.ms", "log.message.timestamp.after.max.ms", 3600000, 0,
		func(c *Config) *int64 { return &c.MessageTimestampAfterMaxMs },
		`With message.timestamp.type=CreateTime, how far ahead of the broker's clock a record's timestamp may be, in milliseconds; records further in the future are refused with INVALID_TIMESTAMP (KIP-937). The default is one hour, as in Kafka 4.0 and later (KIP-1030). Ignored with LogAppendTime.`),
	longSpec("message.timestamp.before.max.ms", "log.message.timestamp.before.max.ms", math.MaxInt64, 0,
		func(c *Config) *int64 { return &c.MessageTimestampBeforeMaxMs },
		`With message.timestamp.type=CreateTime, how far behind the broker's clock a record's timestamp may be, in milliseconds; older records are refused with INVALID_TIMESTAMP (KIP-937). The default does not limit it. Ignored with LogAppendTime.`),
	enumSpec("message.timestamp.type", "log.message.timestamp.type", TimestampCreateTime,
		[]string{TimestampCreateTime, TimestampLogAppendTime},
		func(c *Config) *string { return &c.MessageTimestampType },
		`Which timestamp records carry: CreateTime keeps the producer's, LogAppendTime replaces it with the broker's clock at append.`),
	doubleSpec("min.cleanable.dirty.ratio", "log.cleaner.min.cleanable.ratio", 0.5, 0, 1,
		func(c *Config) *float64 { return &c.MinCleanableDirtyRatio },
		`On a compacted topic, the fraction of the log that must be uncompacted before the log is compacted again, between 0 and 1. min.compaction.lag.ms and max.compaction.lag.ms bound when compaction may and must happen.`),
	longSpec(nameMinCompactionLagMs, "log.cleaner.min.compaction.lag.ms", 0, 0,
		func(c *Config) *int64 { return &c.MinCompactionLagMs },
		`The least time a record stays uncompacted on a compacted topic. Must not exceed max.compaction.lag.ms.`),
	intSpec("min.insync.replicas", "min.insync.replicas", 1, 1,
		func(c *Config) *int32 { return &c.MinInsyncReplicas },
		`With acks=all, how many in-sync replicas must have a write for it to succeed; when fewer are in sync, producers get NOT_ENOUGH_REPLICAS.`),
	longSpec("retention.bytes", "log.retention.bytes", -1, math.MinInt64,
		func(c *Config) *int64 { return &c.RetentionBytes },
		`With the delete cleanup policy, the largest a partition may grow, in bytes, before its oldest segments are deleted. -1 (the default) means no size limit.`),
	longSpec("retention.ms", "log.retention.ms", 604800000, -1,
		func(c *Config) *int64 { return &c.RetentionMs },
		`With the delete cleanup policy, how long a segment is kept, in milliseconds, counted from its newest record. -1 means no time limit.`),
	intSpec("segment.bytes", "log.segment.bytes", 1073741824, 1048576,
		func(c *Config) *int64 { return &c.SegmentBytes },
		`The largest a segment file grows before a new one is rolled, in bytes. Retention and compaction work on whole segments. At least 1048576 (1 MiB), as in Kafka 4.0 and later (KIP-1030).`),
	intSpec("segment.index.bytes", "log.index.size.max.bytes", 10485760, 4,
		func(c *Config) *int32 { return &c.SegmentIndexBytes },
		`The largest a segment's offset index grows, in bytes; a segment whose index is full is rolled.`),
	longSpec("segment.ms", "log.roll.ms", 604800000, 1,
		func(c *Config) *int64 { return &c.SegmentMs },
		`The longest a segment stays open before a new one is rolled, in milliseconds, even if it is not full, so that retention and compaction can act on old data.`),
	boolSpec(nameUncleanElection, nameUncleanElection, false,
		func(c *Config) *bool { return &c.UncleanLeaderElectionEnable },
		"Ordo never elects a replica that is not in sync; only false is supported",
		`Whether a replica that is not in sync may become leader as a last resort, losing data. Ordo supports only false.`),
}

// unsupported lists Kafka topic configs that Ordo knowingly does not
// implement, with the reason given to whoever tries to set one. Refusing
// them is more honest than accepting a setting that would have no effect.
var unsupported = map[string]string{
	"compression.gzip.level":                  "Ordo stores batches as produced and never recompresses",
	"compression.lz4.level":                   "Ordo stores batches as produced and never recompresses",
	"compression.zstd.level":                  "Ordo stores batches as produced and never recompresses",
	"file.delete.delay.ms":                    "Ordo deletes segments without a delay",
	"follower.replication.throttled.replicas": "Ordo has no replication throttles",
	"leader.replication.throttled.replicas":   "Ordo has no replication throttles",
	"local.retention.bytes":                   "Ordo has no tiered storage",
	"local.retention.ms":                      "Ordo has no tiered storage",
	"message.downconversion.enable":           "Ordo never down-converts records",
	"preallocate":                             "Ordo does not preallocate segment files",
	"remote.log.copy.disable":                 "Ordo has no tiered storage",
	"remote.log.delete.on.disable":            "Ordo has no tiered storage",
	"remote.storage.enable":                   "Ordo has no tiered storage",
	"segment.jitter.ms":                       "Ordo rolls segments at segment.ms without jitter",
}

var specByName = func() map[string]*spec {
	if !slices.IsSortedFunc(specs, func(a, b spec) int { return strings.Compare(a.name, b.name) }) {
		panic("topicconfig: specs are not sorted by name")
	}
	m := make(map[string]*spec, len(specs))
	for i := range specs {
		if _, dup := m[specs[i].name]; dup {
			panic("topicconfig: duplicate spec " + specs[i].name)
		}
		m[specs[i].name] = &specs[i]
	}
	return m
}()

// javaTrim is Java's String.trim, which ConfigDef applies to every value:
// it strips every character up to and including ' '.
func javaTrim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
}

func parseLong(name, raw string) (int64, error) {
	v, err := strconv.ParseInt(javaTrim(raw), 10, 64)
	if err != nil {
		return 0, invalidValue(name, raw, "Not a number of type LONG")
	}
	return v, nil
}

func parseInt(name, raw string) (int32, error) {
	v, err := strconv.ParseInt(javaTrim(raw), 10, 32)
	if err != nil {
		return 0, invalidValue(name, raw, "Not a number of type INT")
	}
	return int32(v), nil
}

func parseDouble(name, raw string) (float64, error) {
	v, err := strconv.ParseFloat(javaTrim(raw), 64)
	// Kafka's range check lets NaN through (every comparison with NaN is
	// false); a ratio of NaN means nothing, so refuse it as a non-number.
	if err != nil || math.IsNaN(v) {
		return 0, invalidValue(name, raw, "Not a number of type DOUBLE")
	}
	return v, nil
}

func parseBool(name, raw string) (bool, error) {
	switch strings.ToLower(javaTrim(raw)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, invalidValue(name, raw, "Expected value to be either true or false")
}

// parseList is ConfigDef's LIST parsing: an empty (after trimming) value is
// the empty list, anything else is split at commas with surrounding
// whitespace dropped.
func parseList(raw string) []string {
	t := javaTrim(raw)
	if t == "" {
		return []string{}
	}
	parts := strings.Split(t, ",")
	for i, p := range parts {
		parts[i] = strings.Trim(p, " \t\n\v\f\r")
	}
	return parts
}

func longSpec(name, broker string, def, min int64, field func(*Config) *int64, doc string) spec {
	return spec{
		name: name, typ: TypeLong, def: strconv.FormatInt(def, 10), broker: broker, doc: doc,
		set: func(c *Config, raw string) error {
			v, err := parseLong(name, raw)
			if err != nil {
				return err
			}
			if v < min {
				return invalidValue(name, strconv.FormatInt(v, 10), "Value must be at least "+strconv.FormatInt(min, 10))
			}
			*field(c) = v
			return nil
		},
		get: func(c *Config) string { return strconv.FormatInt(*field(c), 10) },
	}
}

// intSpec is a Kafka INT config; T is int64 for segment.bytes, which Ordo
// compares with file sizes.
func intSpec[T int32 | int64](name, broker string, def, min int32, field func(*Config) *T, doc string) spec {
	return spec{
		name: name, typ: TypeInt, def: strconv.FormatInt(int64(def), 10), broker: broker, doc: doc,
		set: func(c *Config, raw string) error {
			v, err := parseInt(name, raw)
			if err != nil {
				return err
			}
			if v < min {
				return invalidValue(name, strconv.FormatInt(int64(v), 10), "Value must be at least "+strconv.FormatInt(int64(min), 10))
			}
			*field(c) = T(v)
			return nil
		},
		get: func(c *Config) string { return strconv.FormatInt(int64(*field(c)), 10) },
	}
}

func doubleSpec(name, broker string, def, min, max float64, field func(*Config) *float64, doc string) spec {
	bound := func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
	return spec{
		name: name, typ: TypeDouble, def: javaDouble(def), broker: broker, doc: doc,
		set: func(c *Config, raw string) error {
			v, err := parseDouble(name, raw)
			if err != nil {
				return err
			}
			if v < min {
				return invalidValue(name, javaDouble(v), "Value must be at least "+bound(min))
			}
			if v > max {
				return invalidValue(name, javaDouble(v), "Value must be no more than "+bound(max))
			}
			*field(c) = v
			return nil
		},
		get: func(c *Config) string { return javaDouble(*field(c)) },
	}
}

// boolSpec is a BOOLEAN config. If refuse is not empty, Ordo supports only
// def and refuses the other value with that reason.
func boolSpec(name, broker string, def bool, field func(*Config) *bool, refuse, doc string) spec {
	return spec{
		name: name, typ: TypeBoolean, def: strconv.FormatBool(def), broker: broker, doc: doc,
		set: func(c *Config, raw string) error {
			v, err := parseBool(name, raw)
			if err != nil {
				return err
			}
			if refuse != "" && v != def {
				return invalidValue(name, strconv.FormatBool(v), refuse)
			}
			*field(c) = v
			return nil
		},
		get: func(c *Config) string { return strconv.FormatBool(*field(c)) },
	}
}

// enumSpec is a STRING config with ConfigDef.ValidString's validation:
// case-sensitive, one of valid.
func enumSpec(name, broker, def string, valid []string, field func(*Config) *string, doc string) spec {
	return spec{
		name: name, typ: TypeString, def: def, broker: broker, doc: doc,
		set: func(c *Config, raw string) error {
			v := javaTrim(raw)
			if !slices.Contains(valid, v) {
				return invalidValue(name, v, "String must be one of: "+strings.Join(valid, ", "))
			}
			*field(c) = v
			return nil
		},
		get: func(c *Config) string { return *field(c) },
	}
}

// listSpec is a LIST config validated as Kafka 4.x's ValidList.in does: the
// empty list is allowed, but not empty or duplicated elements, and every
// element must be one of valid.
func listSpec(name, broker string, def, valid []string, field func(*Config) *[]string, doc string) spec {
	return spec{
		name: name, typ: TypeList, def: strings.Join(def, ","), broker: broker, doc: doc,
		set: func(c *Config, raw string) error {
			vs := parseList(raw)
			seen := make(map[string]bool, len(vs))
			for _, v := range vs {
				if seen[v] {
					return configErr(name, "Configuration '%s' values must not be duplicated.", name)
				}
				seen[v] = true
			}
			for _, v := range vs {
				if v == "" {
					return configErr(name, "Configuration '%s' values must not be empty.", name)
				}
				if !slices.Contains(valid, v) {
					return invalidValue(name, v, "String must be one of: "+strings.Join(valid, ", "))
				}
			}
			*field(c) = vs
			return nil
		},
		get: func(c *Config) string { return strings.Join(*field(c), ",") },
	}
}

// compressionSpec is compression.type. Kafka accepts producer, uncompressed,
// gzip, snappy, lz4 and zstd, and recompresses batches into the topic's
// codec unless it is "producer". Ordo stores batches exactly as produced, so
// "producer" is the only value it can honour; the others are refused rather
// than accepted and ignored.
func compressionSpec() spec {
	const producer = "producer"
	return spec{
		name: nameCompressionType, typ: TypeString, def: producer, broker: nameCompressionType,
		doc: `The codec batches are stored with. Ordo stores batches as the producer sent them (Kafka's "producer"); it never recompresses, so producer is the only supported value.`,
		set: func(c *Config, raw string) error {
			v := javaTrim(raw)
			if v != producer {
				return invalidValue(nameCompressionType, v,
					"Ordo stores batches as produced; only compression.type=producer is supported")
			}
			c.CompressionType = v
			return nil
		},
		get: func(c *Config) string { return c.CompressionType },
	}
}

// javaDouble renders f as Java's Double.toString does, which is how Kafka
// reports DOUBLE configs: "0.5", "1.0", "1.0E-4".
func javaDouble(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case math.IsNaN(f):
		return "NaN"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	if a := math.Abs(f); a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	mant, exp, _ := strings.Cut(strconv.FormatFloat(f, 'E', -1, 64), "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}
