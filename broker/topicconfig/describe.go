package topicconfig

import (
	"maps"
	"slices"
	"strings"
)

// Config sources, as DescribeConfigs v1+ reports them (Kafka's
// DescribeConfigsResponse.ConfigSource; kmsg.ConfigSource).
const (
	SourceUnknown                    int8 = 0
	SourceDynamicTopicConfig         int8 = 1
	SourceDynamicBrokerConfig        int8 = 2
	SourceDynamicDefaultBrokerConfig int8 = 3
	SourceStaticBrokerConfig         int8 = 4
	SourceDefaultConfig              int8 = 5
)

// Config types, as DescribeConfigs v3+ reports them (KIP-569;
// kmsg.ConfigType).
const (
	TypeUnknown  int8 = 0
	TypeBoolean  int8 = 1
	TypeString   int8 = 2
	TypeInt      int8 = 3
	TypeShort    int8 = 4
	TypeLong     int8 = 5
	TypeDouble   int8 = 6
	TypeList     int8 = 7
	TypeClass    int8 = 8
	TypePassword int8 = 9
)

// Entry is one described config, field for field what a DescribeConfigs
// response carries for it.
type Entry struct {
	Name string
	// Value is nil for a config that has no value (a broker config with
	// no default that the broker was not given).
	Value *string
	// ReadOnly: topic configs never are; Ordo's broker configs always are
	// (Ordo has no dynamic broker configs).
	ReadOnly bool
	// Default is DescribeConfigs v0's IsDefault: Source is DEFAULT_CONFIG.
	Default   bool
	Sensitive bool
	// Source is one of the Source constants.
	Source int8
	// Type is one of the Type constants.
	Type int8
	// Documentation is nil unless documentation was asked for.
	Documentation *string
	// Synonyms is nil unless synonyms were asked for (KIP-226). It lists
	// where the value could come from, highest precedence first; the
	// first is the one in effect.
	Synonyms []Synonym
}

// Synonym is one source of a config's value (KIP-226).
type Synonym struct {
	Name   string
	Value  *string
	Source int8
}

func strp(s string) *string { return &s }

// wanted reports whether name passes a DescribeConfigs name filter. Kafka
// treats a null or empty ConfigNames list as "all configs".
func wanted(filter map[string]bool, name string) bool {
	return len(filter) == 0 || filter[name]
}

func filterSet(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// Describe lists a topic's configs for DescribeConfigs, sorted by name.
//
// overrides are the topic's stored overrides (as validated by Build); names
// filters the result (nil or empty: every config; names Ordo does not
// support are left out, as Kafka leaves out unknown names). An overridden
// config has source DYNAMIC_TOPIC_CONFIG and its value rendered as Kafka
// renders parsed values (trimmed, "compact,delete", "true", "0.5"); the
// others have Ordo's default and source DEFAULT_CONFIG.
//
// With includeSynonyms, each entry lists its value's possible sources as
// KIP-226 synonyms: the topic override (DYNAMIC_TOPIC_CONFIG, under the
// topic config's name) if there is one, then the default under the name of
// the broker config Kafka takes it from (e.g. retention.ms's default as
// log.retention.ms, DEFAULT_CONFIG). Ordo has no dynamic broker configs, so
// there is nothing in between.
func Describe(overrides map[string]string, names []string, includeSynonyms, includeDocs bool) []Entry {
	filter := filterSet(names)
	var out []Entry
	for i := range specs {
		s := &specs[i]
		if !wanted(filter, s.name) {
			continue
		}
		e := Entry{
			Name:   s.name,
			Value:  strp(s.def),
			Source: SourceDefaultConfig,
			Type:   s.typ,
		}
		raw, overridden := overrides[s.name]
		if overridden {
			e.Value = strp(canonical(s, raw))
			e.Source = SourceDynamicTopicConfig
		}
		e.Default = e.Source == SourceDefaultConfig
		if includeSynonyms {
			e.Synonyms = []Synonym{}
			if overridden {
				e.Synonyms = append(e.Synonyms, Synonym{Name: s.name, Value: strp(*e.Value), Source: SourceDynamicTopicConfig})
			}
			e.Synonyms = append(e.Synonyms, Synonym{Name: s.broker, Value: strp(s.def), Source: SourceDefaultConfig})
		}
		if includeDocs {
			e.Documentation = strp(s.doc)
		}
		out = append(out, e)
	}
	return out
}

// canonical renders raw as Kafka reports a parsed value; a value that does
// not parse (it should not happen: overrides are validated before they are
// stored) is reported as stored.
func canonical(s *spec, raw string) string {
	var c Config
	if s.set(&c, raw) != nil {
		return raw
	}
	return s.get(&c)
}

// brokerSpec is a broker-level config DescribeBroker reports.
type brokerSpec struct {
	name string
	typ  int8
	def  *string // nil: no default
	doc  string
}

// brokerOnly are the broker configs that are not a topic config's default.
// Defaults are Ordo's where Ordo has one, else Kafka's; values the broker
// is configured with come from the static map DescribeBroker is given.
var brokerOnly = []brokerSpec{
	{"advertised.listeners", TypeString, nil,
		`The listeners clients are told to connect to (Metadata), when they differ from listeners.`},
	{"auto.create.topics.enable", TypeBoolean, strp("true"),
		`Whether a Metadata request for a topic that does not exist creates it, with num.partitions partitions and the default topic configs.`},
	{"broker.id", TypeInt, strp("-1"),
		`The broker's id; in KRaft-era Kafka, and in Ordo, the same as node.id.`},
	{"connections.max.idle.ms", TypeLong, strp("600000"),
		`How long a client connection with no request in flight, on which nothing was read or written, stays open before the broker closes it, in milliseconds.`},
	{"default.replication.factor", TypeInt, strp("1"),
		`The replication factor of automatically created topics.`},
	{"group.initial.rebalance.delay.ms", TypeInt, strp("3000"),
		`How long the group coordinator waits for more members to join a new (empty) classic consumer group before its first rebalance.`},
	{"listeners", TypeString, nil,
		`The addresses the broker accepts clients on.`},
	{"log.dirs", TypeList, nil,
		`The directories partition data is stored in.`},
	{"log.flush.scheduler.interval.ms", TypeLong, strp("1000"),
		`How often the interval flusher runs, in milliseconds: topics with flush.messages greater than 1 are fsynced every min(this, flush.ms). Ordo's default is 1000 (Kafka's is 9223372036854775807: Kafka leaves flushing to the OS).`},
	{"max.connections", TypeInt, nil,
		`The most client connections the broker keeps open; a new one past it is accepted and closed at once. Ordo's default is three quarters of the process's open-file limit (RLIMIT_NOFILE), so that connections leave descriptors for the logs (Kafka's is 2147483647, no limit).`},
	{"node.id", TypeInt, strp("-1"),
		`The broker's id.`},
	{"num.partitions", TypeInt, strp("1"),
		`The number of partitions of automatically created topics, and of CreateTopics requests with NumPartitions -1 (KIP-464).`},
	{"offsets.topic.replication.factor", TypeShort, strp("1"),
		`The replication factor of the committed-offsets topic. Ordo's default is 1 (Kafka's is 3).`},
	{"queued.max.request.bytes", TypeLong, strp("524288000"),
		`The memory requests may hold, across all connections, from their first byte until their response is written, in bytes; when it is spent the broker stops reading from connections until responses go out. Ordo's default is 524288000, 500 MiB (Kafka's is -1, no bound).`},
	{"socket.request.max.bytes", TypeInt, strp("104857600"),
		`The largest request the broker reads, in bytes.`},
}

// brokerSpecs is every broker config DescribeBroker knows, sorted by name:
// brokerOnly plus, for each topic config, the broker config that supplies
// its default (ServerTopicConfigSynonyms in Kafka), with Ordo's default.
var brokerSpecs = func() []brokerSpec {
	out := slices.Clone(brokerOnly)
	for _, s := range specs {
		doc := "The default of the topic config " + s.name + " for topics that do not override it. " + s.doc
		if s.broker == s.name {
			doc = s.doc
		}
		out = append(out, brokerSpec{name: s.broker, typ: s.typ, def: strp(s.def), doc: doc})
	}
	slices.SortFunc(out, func(a, b brokerSpec) int { return strings.Compare(a.name, b.name) })
	for i := 1; i < len(out); i++ {
		if out[i].name == out[i-1].name {
			panic("topicconfig: duplicate broker config " + out[i].name)
		}
	}
	return out
}()

// DescribeBroker lists the broker's configs for DescribeConfigs on a BROKER
// resource (resource type 4), sorted by name. static holds the values the
// broker was configured with (node.id, listeners, log.dirs, num.partitions,
// ...): those have source STATIC_BROKER_CONFIG; every other config has its
// default and source DEFAULT_CONFIG. Every entry is read-only: Ordo has no
// dynamic broker configs (KIP-226's DYNAMIC_BROKER_CONFIG never appears).
// names filters as in Describe; static keys DescribeBroker does not know
// are listed too (type UNKNOWN), as Kafka lists every property it was given.
//
// The log.*, message.max.bytes, min.insync.replicas, compression.type and
// unclean.leader.election.enable entries are the defaults of the topic
// configs (Kafka's ServerTopicConfigSynonyms). Build always starts from
// Defaults, so the broker must not pass static values for those: it would
// report a default its topics do not use.
//
// With includeSynonyms, an entry lists its static value (if any) and then
// its default (if it has one), as Kafka does.
func DescribeBroker(static map[string]string, names []string, includeSynonyms, includeDocs bool) []Entry {
	filter := filterSet(names)
	all := slices.Clone(brokerSpecs)
	for _, name := range slices.Sorted(maps.Keys(static)) {
		if _, found := slices.BinarySearchFunc(brokerSpecs, name, func(b brokerSpec, n string) int {
			return strings.Compare(b.name, n)
		}); !found {
			all = append(all, brokerSpec{name: name, typ: TypeUnknown})
		}
	}
	slices.SortFunc(all, func(a, b brokerSpec) int { return strings.Compare(a.name, b.name) })

	var out []Entry
	for _, b := range all {
		if !wanted(filter, b.name) {
			continue
		}
		e := Entry{
			Name:     b.name,
			Value:    b.def,
			ReadOnly: true,
			Source:   SourceDefaultConfig,
			Type:     b.typ,
		}
		v, isStatic := static[b.name]
		if isStatic {
			e.Value = strp(v)
			e.Source = SourceStaticBrokerConfig
		}
		if e.Value != nil {
			e.Value = strp(*e.Value) // never share b.def
		}
		e.Default = e.Source == SourceDefaultConfig
		if includeSynonyms {
			e.Synonyms = []Synonym{}
			if isStatic {
				e.Synonyms = append(e.Synonyms, Synonym{Name: b.name, Value: strp(v), Source: SourceStaticBrokerConfig})
			}
			if b.def != nil {
				e.Synonyms = append(e.Synonyms, Synonym{Name: b.name, Value: strp(*b.def), Source: SourceDefaultConfig})
			}
		}
		if includeDocs && b.doc != "" {
			e.Documentation = strp(b.doc)
		}
		out = append(out, e)
	}
	return out
}
