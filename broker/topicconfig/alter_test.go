package topicconfig

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestApplyIncremental(t *testing.T) {
	tests := []struct {
		name    string
		current map[string]string
		ops     []AlterOp
		want    map[string]string
	}{
		{"no ops copies", map[string]string{"retention.ms": "1"}, nil,
			map[string]string{"retention.ms": "1"}},
		{"nil current", nil, nil, map[string]string{}},
		{"SET new", nil,
			[]AlterOp{{Name: "retention.ms", Op: OpSet, Value: sp("1000")}},
			map[string]string{"retention.ms": "1000"}},
		{"SET replaces", map[string]string{"retention.ms": "1", "segment.ms": "2"},
			[]AlterOp{{Name: "retention.ms", Op: OpSet, Value: sp("1000")}},
			map[string]string{"retention.ms": "1000", "segment.ms": "2"}},
		{"SET stores raw (Build validates)", nil,
			[]AlterOp{{Name: "retention.ms", Op: OpSet, Value: sp("abc")}},
			map[string]string{"retention.ms": "abc"}},
		{"DELETE present", map[string]string{"retention.ms": "1", "segment.ms": "2"},
			[]AlterOp{{Name: "retention.ms", Op: OpDelete}},
			map[string]string{"segment.ms": "2"}},
		{"DELETE absent is fine", map[string]string{"segment.ms": "2"},
			[]AlterOp{{Name: "retention.ms", Op: OpDelete}},
			map[string]string{"segment.ms": "2"}},
		{"DELETE unknown name is fine", nil,
			[]AlterOp{{Name: "no.such.config", Op: OpDelete}},
			map[string]string{}},
		{"DELETE ignores its value", map[string]string{"retention.ms": "1"},
			[]AlterOp{{Name: "retention.ms", Op: OpDelete, Value: sp("whatever")}},
			map[string]string{}},
		{"APPEND to default", nil,
			[]AlterOp{{Name: "cleanup.policy", Op: OpAppend, Value: sp("compact")}},
			map[string]string{"cleanup.policy": "delete,compact"}},
		{"APPEND present element is a no-op", nil,
			[]AlterOp{{Name: "cleanup.policy", Op: OpAppend, Value: sp("delete")}},
			map[string]string{"cleanup.policy": "delete"}},
		{"APPEND to override", map[string]string{"cleanup.policy": "compact"},
			[]AlterOp{{Name: "cleanup.policy", Op: OpAppend, Value: sp("delete")}},
			map[string]string{"cleanup.policy": "compact,delete"}},
		{"APPEND several, trimmed", map[string]string{"cleanup.policy": ""},
			[]AlterOp{{Name: "cleanup.policy", Op: OpAppend, Value: sp(" compact , delete ,")}},
			map[string]string{"cleanup.policy": "compact,delete"}},
		{"APPEND to empty override", map[string]string{"cleanup.policy": ""},
			[]AlterOp{{Name: "cleanup.policy", Op: OpAppend, Value: sp("compact")}},
			map[string]string{"cleanup.policy": "compact"}},
		{"SUBTRACT from override", map[string]string{"cleanup.policy": "compact,delete"},
			[]AlterOp{{Name: "cleanup.policy", Op: OpSubtract, Value: sp("compact")}},
			map[string]string{"cleanup.policy": "delete"}},
		{"SUBTRACT from default leaves empty", nil,
			[]AlterOp{{Name: "cleanup.policy", Op: OpSubtract, Value: sp("delete")}},
			map[string]string{"cleanup.policy": ""}},
		{"SUBTRACT absent element is a no-op", map[string]string{"cleanup.policy": "compact"},
			[]AlterOp{{Name: "cleanup.policy", Op: OpSubtract, Value: sp("delete")}},
			map[string]string{"cleanup.policy": "compact"}},
		{"SUBTRACT several", map[string]string{"cleanup.policy": "compact,delete"},
			[]AlterOp{{Name: "cleanup.policy", Op: OpSubtract, Value: sp("delete,compact")}},
			map[string]string{"cleanup.policy": ""}},
		{"several ops on different configs", map[string]string{"retention.ms": "1", "segment.ms": "2"},
			[]AlterOp{
				{Name: "retention.ms", Op: OpDelete},
				{Name: "segment.ms", Op: OpSet, Value: sp("3")},
				{Name: "cleanup.policy", Op: OpAppend, Value: sp("compact")},
			},
			map[string]string{"segment.ms": "3", "cleanup.policy": "delete,compact"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before map[string]string
			if tt.current != nil {
				before = make(map[string]string, len(tt.current))
				for k, v := range tt.current {
					before[k] = v
				}
			}
			got, err := ApplyIncremental(tt.current, tt.ops)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, before, tt.current, "current must not be modified")
			if tt.current != nil {
				got["mutated"] = "x"
				assert.NotContains(t, tt.current, "mutated", "result must be a copy")
			}
		})
	}
}

func TestApplyIncrementalThenBuild(t *testing.T) {
	over, err := ApplyIncremental(nil, []AlterOp{{Name: "cleanup.policy", Op: OpAppend, Value: sp("compact")}})
	require.NoError(t, err)
	c, err := Build(over)
	require.NoError(t, err)
	assert.True(t, c.Deletes())
	assert.True(t, c.Compacts())

	over, err = ApplyIncremental(over, []AlterOp{{Name: "cleanup.policy", Op: OpSubtract, Value: sp("delete,compact")}})
	require.NoError(t, err)
	c, err = Build(over)
	require.NoError(t, err, "an empty cleanup.policy is valid (Kafka 4.x)")
	assert.False(t, c.Deletes())
	assert.False(t, c.Compacts())

	// SET of an unknown name passes ApplyIncremental and fails Build.
	over, err = ApplyIncremental(nil, []AlterOp{{Name: "no.such.config", Op: OpSet, Value: sp("1")}})
	require.NoError(t, err)
	_, err = Build(over)
	assert.EqualError(t, err, "Unknown topic config name: no.such.config")
}

func TestApplyIncrementalErrors(t *testing.T) {
	tests := []struct {
		name     string
		ops      []AlterOp
		wantName string
		wantMsg  string
		wantKind error
	}{
		{"APPEND to LONG",
			[]AlterOp{{Name: "retention.ms", Op: OpAppend, Value: sp("1")}},
			"retention.ms", "Can't APPEND to key retention.ms because its type is not LIST.", ErrInvalidConfig},
		{"SUBTRACT from LONG",
			[]AlterOp{{Name: "retention.ms", Op: OpSubtract, Value: sp("1")}},
			"retention.ms", "Can't SUBTRACT to key retention.ms because its type is not LIST.", ErrInvalidConfig},
		{"APPEND to STRING",
			[]AlterOp{{Name: "message.timestamp.type", Op: OpAppend, Value: sp("CreateTime")}},
			"message.timestamp.type", "Can't APPEND to key message.timestamp.type because its type is not LIST.", ErrInvalidConfig},
		{"APPEND to BOOLEAN",
			[]AlterOp{{Name: "unclean.leader.election.enable", Op: OpAppend, Value: sp("false")}},
			"unclean.leader.election.enable", "Can't APPEND to key unclean.leader.election.enable because its type is not LIST.", ErrInvalidConfig},
		{"APPEND to unknown",
			[]AlterOp{{Name: "no.such.config", Op: OpAppend, Value: sp("x")}},
			"no.such.config", "Can't APPEND to key no.such.config because its type is not LIST.", ErrInvalidConfig},
		{"null SET",
			[]AlterOp{{Name: "retention.ms", Op: OpSet}},
			"retention.ms", "Null value not supported for : retention.ms", ErrInvalidRequest},
		{"null APPEND and SUBTRACT",
			[]AlterOp{{Name: "cleanup.policy", Op: OpAppend}, {Name: "segment.ms", Op: OpDelete}, {Name: "x", Op: OpSubtract}},
			"cleanup.policy", "Null value not supported for : cleanup.policy, x", ErrInvalidRequest},
		{"duplicate names",
			[]AlterOp{{Name: "retention.ms", Op: OpSet, Value: sp("1")}, {Name: "retention.ms", Op: OpDelete}},
			"retention.ms", "Error due to duplicate config keys", ErrInvalidRequest},
		{"unknown operation",
			[]AlterOp{{Name: "retention.ms", Op: 4, Value: sp("1")}},
			"retention.ms", "Unknown alter configs operation type 4 for config retention.ms", ErrInvalidRequest},
		{"negative operation",
			[]AlterOp{{Name: "retention.ms", Op: -1, Value: sp("1")}},
			"retention.ms", "Unknown alter configs operation type -1 for config retention.ms", ErrInvalidRequest},
		{"a later error fails the whole resource",
			[]AlterOp{{Name: "segment.ms", Op: OpSet, Value: sp("1")}, {Name: "retention.ms", Op: OpAppend, Value: sp("1")}},
			"retention.ms", "Can't APPEND to key retention.ms because its type is not LIST.", ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			current := map[string]string{"segment.ms": "5"}
			got, err := ApplyIncremental(current, tt.ops)
			require.Error(t, err)
			assert.Nil(t, got)
			assert.Equal(t, map[string]string{"segment.ms": "5"}, current)
			var cerr *Error
			require.True(t, errors.As(err, &cerr))
			assert.Equal(t, tt.wantName, cerr.Name)
			assert.Equal(t, tt.wantMsg, cerr.Message)
			assert.ErrorIs(t, err, tt.wantKind)
			if tt.wantKind == ErrInvalidRequest {
				assert.Equal(t, CodeInvalidRequest, cerr.Code())
				assert.False(t, errors.Is(err, ErrInvalidConfig))
			} else {
				assert.Equal(t, CodeInvalidConfig, cerr.Code())
			}
		})
	}
}
