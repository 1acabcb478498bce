package linearizability

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// cleanOps is a correct history on two partitions: two producers, a
// consumer that polls everything in order, a reader of latest offsets and
// linearizable fetches, monotonic commits, and a complete final drain.
func cleanOps() []Op {
	return cat(
		seek(2, 0, 0, 0), seek(2, 1, 0, 0),
		prod(0, 0, 0, 10, "a0", 0), prod(1, 1, 5, 15, "b0", 0),
		prod(0, 0, 20, 30, "a1", 1), prod(1, 1, 25, 35, "b1", 1),
		prod(0, 0, 40, 50, "a2", 2),
		poll(2, 60, 70, rec(0, 0, "a0"), rec(0, 1, "a1"), rec(1, 0, "b0")),
		poll(2, 80, 90, rec(0, 2, "a2"), rec(1, 1, "b1")),
		poll(2, 95, 99),
		latest(3, 0, 100, 110, 3),
		fetch(3, 0, 1, 120, 130, 3, rec(0, 1, "a1"), rec(0, 2, "a2")),
		commit(4, 140, 150, 2, OK), fetchOffset(4, 160, 170, 2),
		commit(4, 180, 190, 3, OK), fetchOffset(4, 200, 210, 3),
		drained(5, 0, 300, 0, 3, rec(0, 0, "a0"), rec(0, 1, "a1"), rec(0, 2, "a2")),
		drained(5, 1, 310, 0, 2, rec(1, 0, "b0"), rec(1, 1, "b1")),
	)
}

func TestCleanHistoryPasses(t *testing.T) {
	h := hist(cleanOps()...)
	requireValid(t, h)
	rep := Check(h, Options{})
	require.Empty(t, rep.Static.Anomalies)
	require.Empty(t, rep.Static.Notes)
	require.True(t, rep.Log.OK(), "log: %s", rep.Log.Result)
	require.True(t, rep.Offsets.OK(), "offsets: %s", rep.Offsets.Result)
	require.True(t, rep.OK())
	require.Equal(t, 2, rep.Log.Partitions)
	require.Equal(t, 1, rep.Offsets.Partitions)
}

// The anomalies point at the operations that show them.
func TestAnomaliesNameTheirOperations(t *testing.T) {
	h := hist(cat(prod(0, 0, 0, 10, "a0", 0), prodOutcome(0, 0, 20, 30, "x", Fail),
		poll(1, 40, 50, rec(0, 0, "a0"), rec(0, 1, "x")))...)
	rep := CheckStatic(h, Options{})
	require.Len(t, rep.Anomalies, 1)
	a := rep.Anomalies[0]
	require.Equal(t, []int{1, 2}, a.Ops)
	require.Equal(t, int64(1), a.Offset)
	require.Equal(t, "x", a.Value)
}

// A compacted topic (issue 5) has holes by design: no offset-hole there,
// and a reader jumping over unknown offsets is no skip.
func TestCompactedTopicHasNoHoles(t *testing.T) {
	h := hist(cat(prod(0, 0, 0, 10, "a0", 0), prod(0, 0, 40, 50, "a3", 3),
		seek(1, 0, 0, 0), poll(1, 60, 70, rec(0, 0, "a0")), poll(1, 80, 90, rec(0, 3, "a3")),
		drained(5, 0, 100, 0, 4, rec(0, 0, "a0"), rec(0, 3, "a3")))...)
	require.Equal(t, []string{OffsetHole}, names(CheckStatic(h, Options{}).Anomalies))
	require.Len(t, CheckStatic(h, Options{}).Anomalies, 1, "the drain's hole and the consumer's jump are one range")
	rep := CheckStatic(h, Options{Compacted: func(topic string) bool { return topic == "t" }})
	require.Empty(t, rep.Anomalies)
}

// A seek or a rebalance lets a consumer move anywhere.
func TestSeekAllowsJumps(t *testing.T) {
	h := hist(cat(prod(0, 0, 0, 10, "a0", 0), prod(0, 0, 0, 10, "a1", 1), prod(0, 0, 0, 10, "a2", 2),
		seek(1, 0, 0, 0), poll(1, 20, 30, rec(0, 0, "a0"), rec(0, 1, "a1"), rec(0, 2, "a2")),
		seek(1, 0, 31, 1), poll(1, 40, 50, rec(0, 1, "a1")),
		Op{Client: 1, Kind: KindSeek, Call: 51, Return: 51, Outcome: OK}, // a rebalance: every position reset
		poll(1, 60, 70, rec(0, 0, "a0"), rec(0, 1, "a1")),
		drained(5, 0, 100, 0, 3, rec(0, 0, "a0"), rec(0, 1, "a1"), rec(0, 2, "a2")))...)
	require.Empty(t, CheckStatic(h, Options{}).Anomalies)
	// Without the seeks, the same reads go backwards.
	var noSeeks []Op
	for _, op := range h {
		if op.Kind != KindSeek {
			noSeeks = append(noSeeks, op)
		}
	}
	require.Equal(t, []string{NonmonotonicPoll}, names(CheckStatic(hist(noSeeks...), Options{}).Anomalies))
}

// Indeterminate writes raise no alarm: found later (by a poll or only by
// the drain), or never found with or without a drain.
func TestIndeterminateWritesRaiseNoFalseAlarms(t *testing.T) {
	cases := map[string][]Op{
		"found by the drain": cat(prod(0, 0, 0, 10, "a0", 0), prodOutcome(0, 0, 20, 30, "a1", Info), prod(0, 0, 40, 50, "a2", 2),
			latest(1, 0, 35, 38, 2),
			drained(5, 0, 100, 0, 3, rec(0, 0, "a0"), rec(0, 1, "a1"), rec(0, 2, "a2"))),
		"took effect after the client gave up": cat(prod(0, 0, 0, 10, "a0", 0), prodOutcome(0, 0, 20, 30, "a1", Info),
			latest(1, 0, 40, 50, 1), latest(1, 0, 60, 70, 2),
			drained(5, 0, 100, 0, 2, rec(0, 0, "a0"), rec(0, 1, "a1"))),
		"found by a poll": cat(prodOutcome(0, 0, 0, 10, "a0", Info), seek(1, 0, 0, 0), poll(1, 20, 30, rec(0, 0, "a0")),
			prod(0, 0, 40, 50, "a1", 1), poll(1, 60, 70, rec(0, 1, "a1"))),
		"never found, complete drain": cat(prod(0, 0, 0, 10, "a0", 0), prodOutcome(0, 0, 20, 30, "a1", Info), prod(0, 0, 40, 50, "a2", 1),
			latest(1, 0, 60, 70, 2),
			drained(5, 0, 100, 0, 2, rec(0, 0, "a0"), rec(0, 1, "a2"))),
		"never found, no drain": cat(prod(0, 0, 0, 10, "a0", 0), prodOutcome(0, 0, 20, 30, "a1", Info), prod(0, 0, 40, 50, "a2", 1),
			latest(1, 0, 60, 70, 2), latest(1, 0, 80, 90, 2)),
		"never found, no drain, may land later": cat(prod(0, 0, 0, 10, "a0", 0), prodOutcome(0, 0, 20, 30, "a1", Info),
			latest(1, 0, 60, 70, 1), latest(1, 0, 80, 90, 2)),
		"definite failure never seen": cat(prod(0, 0, 0, 10, "a0", 0), prodOutcome(0, 0, 20, 30, "x", Fail),
			drained(5, 0, 100, 0, 1, rec(0, 0, "a0"))),
		"indeterminate commit lands late": cat(commit(0, 0, 10, 5, OK), commit(0, 20, 30, 7, Info), fetchOffset(1, 40, 50, 5), fetchOffset(1, 60, 70, 7)),
	}
	for name, ops := range cases {
		t.Run(name, func(t *testing.T) {
			h := hist(ops...)
			requireValid(t, h)
			rep := Check(h, Options{VisualizeDir: t.TempDir()})
			for _, a := range rep.Static.Anomalies {
				t.Log(a)
			}
			require.Empty(t, rep.Static.Anomalies)
			require.True(t, rep.Log.OK(), "log: %s %v", rep.Log.Result, rep.Log.Illegal)
			require.True(t, rep.Offsets.OK(), "offsets: %s", rep.Offsets.Result)
		})
	}
	// The resolution counts say what happened to each.
	_, res := CheckLog(hist(cases["found by the drain"]...), Options{})
	require.Equal(t, Resolution{Resolved: 1}, res)
	_, res = CheckLog(hist(cases["never found, complete drain"]...), Options{})
	require.Equal(t, Resolution{Dropped: 1}, res)
	_, res = CheckLog(hist(cases["never found, no drain"]...), Options{})
	require.Equal(t, Resolution{Unresolved: 1}, res)
}
