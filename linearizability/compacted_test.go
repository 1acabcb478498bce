package linearizability

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Histories of a compacted topic (issue 5): records carry keys, "" values
// are tombstones.

func prodKey(client int, call, ret int64, key, v string, off int64) Op {
	op := prod(client, 0, call, ret, v, off)
	op.Keys = []string{key}
	return op
}

func krec(off int64, key, v string) Record {
	return Record{Topic: "t", Offset: off, Key: key, Value: v}
}

var compactedT = Options{Compacted: func(topic string) bool { return topic == "t" }}

// The log: k1=a0@0 k2=b0@1 k1=a1@2 k2=tombstone@3 k3=c0@4 k1=a2@5.
func compactedWrites() []Op {
	return cat(
		prodKey(0, 0, 10, "k1", "a0", 0), prodKey(0, 11, 20, "k2", "b0", 1), prodKey(0, 21, 30, "k1", "a1", 2),
		prodKey(0, 31, 40, "k2", "", 3), prodKey(0, 41, 50, "k3", "c0", 4), prodKey(0, 51, 60, "k1", "a2", 5),
	)
}

func TestCompactedReadsMaySkipSupersededValues(t *testing.T) {
	cases := map[string][]Op{
		"fully compacted, tombstone gone": cat(compactedWrites(),
			seek(1, 0, 61, 0), poll(1, 70, 80, krec(4, "k3", "c0"), krec(5, "k1", "a2")),
			drained(5, 0, 100, 0, 6, krec(4, "k3", "c0"), krec(5, "k1", "a2"))),
		"tombstone kept": cat(compactedWrites(),
			seek(1, 0, 61, 0), poll(1, 70, 80, krec(3, "k2", ""), krec(4, "k3", "c0")), poll(1, 81, 90, krec(5, "k1", "a2")),
			drained(5, 0, 100, 0, 6, krec(3, "k2", ""), krec(4, "k3", "c0"), krec(5, "k1", "a2"))),
		"partly compacted (the cleaner had not reached the end)": cat(compactedWrites(),
			seek(1, 0, 61, 0), poll(1, 70, 80, krec(1, "k2", "b0"), krec(2, "k1", "a1"), krec(3, "k2", ""), krec(4, "k3", "c0"), krec(5, "k1", "a2")),
			drained(5, 0, 100, 0, 6, krec(2, "k1", "a1"), krec(3, "k2", ""), krec(4, "k3", "c0"), krec(5, "k1", "a2"))),
		"not compacted at all": cat(compactedWrites(),
			drained(5, 0, 100, 0, 6, krec(0, "k1", "a0"), krec(1, "k2", "b0"), krec(2, "k1", "a1"), krec(3, "k2", ""), krec(4, "k3", "c0"), krec(5, "k1", "a2"))),
	}
	for name, ops := range cases {
		t.Run(name, func(t *testing.T) {
			h := hist(ops...)
			requireValid(t, h)
			rep := Check(h, compactedT)
			require.Empty(t, rep.Static.Anomalies)
			require.Empty(t, rep.Static.Notes)
			require.True(t, rep.Log.OK(), "log: %s %v", rep.Log.Result, rep.Log.Illegal)
			// Without the compacted option, the same reads are anomalies
			// (holes, lost and unseen values), except for the uncompacted log.
			if name != "not compacted at all" {
				require.NotEmpty(t, CheckStatic(h, Options{}).Anomalies)
			}
		})
	}
}

func TestCompactedReadsMustHoldEveryKeysLatestValue(t *testing.T) {
	cases := map[string]struct {
		ops  []Op
		want []string
	}{
		"the drain misses k3's only value": {cat(compactedWrites(),
			drained(5, 0, 100, 0, 6, krec(5, "k1", "a2"))), []string{PollSkip, Unseen}}, // the drain's fetch jumped over it too
		"a reader passed over k3's only value": {cat(compactedWrites(),
			seek(1, 0, 61, 0), poll(1, 70, 80, krec(2, "k1", "a1")), poll(1, 81, 90, krec(5, "k1", "a2")),
			drained(5, 0, 100, 0, 6, krec(4, "k3", "c0"), krec(5, "k1", "a2"))), []string{PollSkip}},
		"a value at the wrong offset": {cat(compactedWrites(),
			drained(5, 0, 100, 0, 6, krec(4, "k3", "c0"), krec(5, "k1", "a1"))), []string{Duplicate, InconsistentOffsets, Unseen}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			h := hist(c.ops...)
			requireValid(t, h)
			require.Equal(t, c.want, names(CheckStatic(h, compactedT).Anomalies))
		})
	}
}

// Without keys in the history, a compacted topic cannot be judged per key:
// the checker says so instead of guessing.
func TestCompactedWithoutKeysIsNoted(t *testing.T) {
	h := hist(cat(prod(0, 0, 0, 10, "a0", 0), prod(0, 0, 20, 30, "a1", 1),
		drained(5, 0, 100, 0, 2, rec(0, 1, "a1")))...)
	rep := CheckStatic(h, compactedT)
	require.Empty(t, rep.Anomalies)
	require.Len(t, rep.Notes, 1)
	require.Contains(t, rep.Notes[0], "no key")
}

func TestKeysMustMatchValues(t *testing.T) {
	op := prodKey(0, 0, 10, "k", "v", 0)
	op.Keys = []string{"k", "extra"}
	require.Error(t, hist(op).Validate())
}
