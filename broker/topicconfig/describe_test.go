package topicconfig

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sp(s string) *string { return &s }

func entryNames(es []Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Name
	}
	return out
}

func findEntry(t *testing.T, es []Entry, name string) Entry {
	t.Helper()
	for _, e := range es {
		if e.Name == name {
			return e
		}
	}
	require.Failf(t, "missing entry", "%s not in %v", name, entryNames(es))
	return Entry{}
}

func TestDescribeDefaults(t *testing.T) {
	for _, overrides := range []map[string]string{nil, {}} {
		es := Describe(overrides, nil, false, false)
		assert.Equal(t, Names(), entryNames(es))
		for _, e := range es {
			require.NotNil(t, e.Value, e.Name)
			assert.Equal(t, SourceDefaultConfig, e.Source, e.Name)
			assert.True(t, e.Default, e.Name)
			assert.False(t, e.ReadOnly, e.Name)
			assert.False(t, e.Sensitive, e.Name)
			assert.Nil(t, e.Synonyms, e.Name)
			assert.Nil(t, e.Documentation, e.Name)
			assert.NotEqual(t, TypeUnknown, e.Type, e.Name)
		}
	}

	// The described defaults are exactly what Build gives with no overrides.
	es := Describe(nil, nil, false, false)
	overrides := map[string]string{}
	for _, e := range es {
		overrides[e.Name] = *e.Value
	}
	c, err := Build(overrides)
	require.NoError(t, err)
	assert.Equal(t, Defaults(), c)

	want := map[string]struct {
		value string
		typ   int8
	}{
		"cleanup.policy":                  {"delete", TypeList},
		"compression.type":                {"producer", TypeString},
		"delete.retention.ms":             {"86400000", TypeLong},
		"flush.messages":                  {"1", TypeLong},
		"flush.ms":                        {"9223372036854775807", TypeLong},
		"index.interval.bytes":            {"4096", TypeInt},
		"max.compaction.lag.ms":           {"9223372036854775807", TypeLong},
		"max.message.bytes":               {"1048588", TypeInt},
		"message.timestamp.after.max.ms":  {"3600000", TypeLong},
		"message.timestamp.before.max.ms": {"9223372036854775807", TypeLong},
		"message.timestamp.type":          {"CreateTime", TypeString},
		"min.cleanable.dirty.ratio":       {"0.5", TypeDouble},
		"min.compaction.lag.ms":           {"0", TypeLong},
		"min.insync.replicas":             {"1", TypeInt},
		"retention.bytes":                 {"-1", TypeLong},
		"retention.ms":                    {"604800000", TypeLong},
		"segment.bytes":                   {"1073741824", TypeInt},
		"segment.index.bytes":             {"10485760", TypeInt},
		"segment.ms":                      {"604800000", TypeLong},
		"unclean.leader.election.enable":  {"false", TypeBoolean},
	}
	require.Len(t, es, len(want))
	for _, e := range es {
		assert.Equal(t, want[e.Name].value, *e.Value, e.Name)
		assert.Equal(t, want[e.Name].typ, e.Type, e.Name)
	}
}

func TestDescribeOverrides(t *testing.T) {
	overrides := map[string]string{
		"retention.ms":                   " 1000 ",
		"cleanup.policy":                 "compact , delete",
		"min.cleanable.dirty.ratio":      "1",
		"unclean.leader.election.enable": "FALSE",
		"flush.messages":                 "9223372036854775807",
		"not.a.config":                   "ignored",
	}
	es := Describe(overrides, nil, false, false)
	assert.Equal(t, Names(), entryNames(es), "unknown stored names are not described")

	tests := []struct {
		name, value string
	}{
		{"retention.ms", "1000"},
		{"cleanup.policy", "compact,delete"},
		{"min.cleanable.dirty.ratio", "1.0"},
		{"unclean.leader.election.enable", "false"},
		{"flush.messages", "9223372036854775807"},
	}
	for _, tt := range tests {
		e := findEntry(t, es, tt.name)
		assert.Equal(t, tt.value, *e.Value, tt.name)
		assert.Equal(t, SourceDynamicTopicConfig, e.Source, tt.name)
		assert.False(t, e.Default, tt.name)
		assert.False(t, e.ReadOnly, tt.name)
	}
	e := findEntry(t, es, "segment.ms")
	assert.Equal(t, SourceDefaultConfig, e.Source)
	assert.True(t, e.Default)

	// A stored value that does not parse (it should never be stored) is
	// reported verbatim rather than hidden.
	e = findEntry(t, Describe(map[string]string{"retention.ms": "junk"}, nil, false, false), "retention.ms")
	assert.Equal(t, "junk", *e.Value)
}

func TestDescribeSynonyms(t *testing.T) {
	tests := []struct {
		name      string
		overrides map[string]string
		config    string
		want      []Synonym
	}{
		{"default only", nil, "retention.ms", []Synonym{
			{Name: "log.retention.ms", Value: sp("604800000"), Source: SourceDefaultConfig},
		}},
		{"override then default", map[string]string{"retention.ms": "1000"}, "retention.ms", []Synonym{
			{Name: "retention.ms", Value: sp("1000"), Source: SourceDynamicTopicConfig},
			{Name: "log.retention.ms", Value: sp("604800000"), Source: SourceDefaultConfig},
		}},
		{"segment.ms from log.roll.ms", nil, "segment.ms", []Synonym{
			{Name: "log.roll.ms", Value: sp("604800000"), Source: SourceDefaultConfig},
		}},
		{"max.message.bytes from message.max.bytes", map[string]string{"max.message.bytes": "2000"}, "max.message.bytes", []Synonym{
			{Name: "max.message.bytes", Value: sp("2000"), Source: SourceDynamicTopicConfig},
			{Name: "message.max.bytes", Value: sp("1048588"), Source: SourceDefaultConfig},
		}},
		{"flush.messages from log.flush.interval.messages", nil, "flush.messages", []Synonym{
			{Name: "log.flush.interval.messages", Value: sp("1"), Source: SourceDefaultConfig},
		}},
		{"same name at both levels", map[string]string{"min.insync.replicas": "2"}, "min.insync.replicas", []Synonym{
			{Name: "min.insync.replicas", Value: sp("2"), Source: SourceDynamicTopicConfig},
			{Name: "min.insync.replicas", Value: sp("1"), Source: SourceDefaultConfig},
		}},
		{"canonical override value", map[string]string{"cleanup.policy": " compact "}, "cleanup.policy", []Synonym{
			{Name: "cleanup.policy", Value: sp("compact"), Source: SourceDynamicTopicConfig},
			{Name: "log.cleanup.policy", Value: sp("delete"), Source: SourceDefaultConfig},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := findEntry(t, Describe(tt.overrides, nil, true, false), tt.config)
			assert.Equal(t, tt.want, e.Synonyms)
			// The first synonym is the value in effect.
			assert.Equal(t, *e.Value, *e.Synonyms[0].Value)
			assert.Equal(t, e.Source, e.Synonyms[0].Source)
		})
	}

	// Every config names its broker-level synonym.
	for _, e := range Describe(nil, nil, true, false) {
		require.Len(t, e.Synonyms, 1, e.Name)
		assert.NotEmpty(t, e.Synonyms[0].Name, e.Name)
		assert.Equal(t, SourceDefaultConfig, e.Synonyms[0].Source, e.Name)
	}
}

func TestDescribeFilter(t *testing.T) {
	tests := []struct {
		name  string
		names []string
		want  []string
	}{
		{"nil is all", nil, Names()},
		{"empty is all", []string{}, Names()},
		{"one", []string{"retention.ms"}, []string{"retention.ms"}},
		{"sorted, deduplicated", []string{"segment.ms", "cleanup.policy", "segment.ms"}, []string{"cleanup.policy", "segment.ms"}},
		{"unknown omitted", []string{"retention.ms", "no.such.config", "preallocate"}, []string{"retention.ms"}},
		{"only unknown", []string{"no.such.config"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Describe(map[string]string{"retention.ms": "5"}, tt.names, false, false)
			if tt.want == nil {
				assert.Empty(t, got)
				return
			}
			assert.Equal(t, tt.want, entryNames(got))
		})
	}
}

func TestDescribeDocs(t *testing.T) {
	for _, e := range Describe(nil, nil, false, true) {
		require.NotNil(t, e.Documentation, e.Name)
		assert.NotEmpty(t, *e.Documentation, e.Name)
	}
	doc := *findEntry(t, Describe(nil, []string{"flush.messages"}, false, true), "flush.messages").Documentation
	assert.Contains(t, doc, "fsyncs before acknowledging every append")
	doc = *findEntry(t, Describe(nil, []string{"compression.type"}, false, true), "compression.type").Documentation
	assert.Contains(t, doc, "producer is the only supported value")
}

func TestDescribeReturnsFreshValues(t *testing.T) {
	es := Describe(nil, []string{"retention.ms"}, true, true)
	*es[0].Value = "x"
	*es[0].Synonyms[0].Value = "y"
	*es[0].Documentation = "z"
	es = Describe(nil, []string{"retention.ms"}, true, true)
	assert.Equal(t, "604800000", *es[0].Value)
	assert.Equal(t, "604800000", *es[0].Synonyms[0].Value)
	assert.NotEqual(t, "z", *es[0].Documentation)
}

func TestDescribeBroker(t *testing.T) {
	static := map[string]string{
		"node.id":          "3",
		"broker.id":        "3",
		"listeners":        "PLAINTEXT://127.0.0.1:9092",
		"log.dirs":         "/var/lib/ordo",
		"num.partitions":   "4",
		"custom.something": "x",
	}
	es := DescribeBroker(static, nil, false, false)
	names := entryNames(es)
	assert.True(t, slices.IsSorted(names))
	for _, required := range []string{
		"node.id", "broker.id", "num.partitions", "auto.create.topics.enable", "log.dirs",
		"listeners", "advertised.listeners", "default.replication.factor", "min.insync.replicas",
		"log.retention.ms", "log.segment.bytes", "message.max.bytes", "log.flush.interval.messages",
		"log.flush.interval.ms", "log.message.timestamp.type", "log.cleanup.policy",
		"unclean.leader.election.enable", "offsets.topic.replication.factor",
		"group.initial.rebalance.delay.ms",
	} {
		assert.Contains(t, names, required)
	}
	for _, e := range es {
		assert.True(t, e.ReadOnly, e.Name)
		assert.False(t, e.Sensitive, e.Name)
		assert.Nil(t, e.Synonyms, e.Name)
		assert.Nil(t, e.Documentation, e.Name)
		if _, ok := static[e.Name]; ok {
			assert.Equal(t, SourceStaticBrokerConfig, e.Source, e.Name)
			assert.False(t, e.Default, e.Name)
			assert.Equal(t, static[e.Name], *e.Value, e.Name)
		} else {
			assert.Equal(t, SourceDefaultConfig, e.Source, e.Name)
			assert.True(t, e.Default, e.Name)
		}
	}

	tests := []struct {
		name  string
		value *string
		typ   int8
	}{
		{"node.id", sp("3"), TypeInt},
		{"num.partitions", sp("4"), TypeInt},
		{"log.dirs", sp("/var/lib/ordo"), TypeList},
		{"custom.something", sp("x"), TypeUnknown},
		{"advertised.listeners", nil, TypeString},
		{"auto.create.topics.enable", sp("true"), TypeBoolean},
		{"default.replication.factor", sp("1"), TypeInt},
		{"offsets.topic.replication.factor", sp("1"), TypeShort},
		{"group.initial.rebalance.delay.ms", sp("3000"), TypeInt},
		// The topic configs' broker-level defaults are Ordo's topic defaults.
		{"log.retention.ms", sp("604800000"), TypeLong},
		{"log.segment.bytes", sp("1073741824"), TypeInt},
		{"message.max.bytes", sp("1048588"), TypeInt},
		{"log.flush.interval.messages", sp("1"), TypeLong},
		{"log.flush.interval.ms", sp("9223372036854775807"), TypeLong},
		{"log.flush.scheduler.interval.ms", sp("1000"), TypeLong},
		{"log.message.timestamp.type", sp("CreateTime"), TypeString},
		{"log.cleanup.policy", sp("delete"), TypeList},
		{"unclean.leader.election.enable", sp("false"), TypeBoolean},
		{"min.insync.replicas", sp("1"), TypeInt},
	}
	for _, tt := range tests {
		e := findEntry(t, es, tt.name)
		assert.Equal(t, tt.value, e.Value, tt.name)
		assert.Equal(t, tt.typ, e.Type, tt.name)
	}

	// Every topic config's synonym is described at broker level with the
	// same default and type.
	for _, te := range Describe(nil, nil, true, false) {
		be := findEntry(t, es, te.Synonyms[0].Name)
		assert.Equal(t, *te.Value, *be.Value, te.Name)
		assert.Equal(t, te.Type, be.Type, te.Name)
	}
}

func TestDescribeBrokerSynonymsFilterDocs(t *testing.T) {
	static := map[string]string{"node.id": "7", "listeners": "PLAINTEXT://:9092", "unknown.key": "v"}

	es := DescribeBroker(static, []string{"node.id", "advertised.listeners", "log.retention.ms", "unknown.key", "nope"}, true, true)
	assert.Equal(t, []string{"advertised.listeners", "log.retention.ms", "node.id", "unknown.key"}, entryNames(es))

	// Static value, then the default.
	assert.Equal(t, []Synonym{
		{Name: "node.id", Value: sp("7"), Source: SourceStaticBrokerConfig},
		{Name: "node.id", Value: sp("-1"), Source: SourceDefaultConfig},
	}, findEntry(t, es, "node.id").Synonyms)
	// No value and no default: no synonyms.
	assert.Equal(t, []Synonym{}, findEntry(t, es, "advertised.listeners").Synonyms)
	assert.Equal(t, []Synonym{
		{Name: "log.retention.ms", Value: sp("604800000"), Source: SourceDefaultConfig},
	}, findEntry(t, es, "log.retention.ms").Synonyms)
	assert.Equal(t, []Synonym{
		{Name: "unknown.key", Value: sp("v"), Source: SourceStaticBrokerConfig},
	}, findEntry(t, es, "unknown.key").Synonyms)

	// Documentation for every known config; none for keys Ordo does not know.
	for _, e := range DescribeBroker(static, nil, false, true) {
		if e.Name == "unknown.key" {
			assert.Nil(t, e.Documentation)
			continue
		}
		require.NotNil(t, e.Documentation, e.Name)
		assert.NotEmpty(t, *e.Documentation, e.Name)
	}
	doc := *findEntry(t, DescribeBroker(nil, []string{"log.retention.ms"}, false, true), "log.retention.ms").Documentation
	assert.Contains(t, doc, "retention.ms")

	// Empty filter is all; nil static is fine.
	assert.Equal(t, entryNames(DescribeBroker(nil, nil, false, false)), entryNames(DescribeBroker(nil, []string{}, false, false)))
}

func TestDescribeBrokerDoesNotShareDefaults(t *testing.T) {
	es := DescribeBroker(nil, []string{"num.partitions"}, true, false)
	*es[0].Value = "99"
	*es[0].Synonyms[0].Value = "98"
	es = DescribeBroker(nil, []string{"num.partitions"}, true, false)
	assert.Equal(t, "1", *es[0].Value)
	assert.Equal(t, "1", *es[0].Synonyms[0].Value)
}
