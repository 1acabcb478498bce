// Package failpoints is Ordo's fault-injection switchboard, on top of
// github.com/pingcap/failpoint's runtime API (failpoint.Eval and Enable; no
// source rewriting, no failpoint-ctl, nothing to undo).
//
// A fault point in the broker reads
//
//	if v, ok := failpoints.Eval(failpoints.StaleHighWatermark, h.NodeID); ok {
//		// misbehave, using v (the term's return value) if it needs one
//	}
//
// Without the build tag `failpoints`, Eval is a constant function returning
// (nil, false): the compiler inlines it and drops the branch, so production
// builds carry no cost and do not link pingcap/failpoint at all. With
// `-tags failpoints`, Eval asks failpoint.Eval.
//
// Every name is a constant of registry.go, the one list of points. Tests
// turn points on with Enable (which refuses names outside the registry),
// and every point a test enables must fire before the test ends, or the
// test fails: a point that never fired proves nothing. Points can also be
// set for a whole process with GO_FAILPOINTS="name=term;..." (failpoint's
// own variable); a name there that is not in the registry stops the
// process at start.
//
// Terms are failpoint's: [pct%][count*]action(arg)[->...], with actions
// off, return(v), sleep(ms), pause, print (never panic in-process: the
// crash tests simulate crashes instead).
//
// failpoint's registry is global to the process, so Eval takes the node id
// of the broker evaluating the point, and Enable(..., OnNodes(1)) makes a
// point fire on node 1 only, leaving other brokers of an in-process cluster
// alone; the filter is checked before the term is evaluated, so a counted
// term ("1*return") is not used up by other brokers. Tests that enable
// points must not run in parallel with each other.
package failpoints

// Name is a failpoint's name: a constant of registry.go.
type Name string

// Known reports whether name is in the registry.
func Known(name Name) bool {
	for _, n := range All {
		if n == name {
			return true
		}
	}
	return false
}

// Int is a term's value as an int: v when it is one (return(5)), def for
// any other value (return, return(true), a string).
func Int(v any, def int) int {
	if n, ok := v.(int); ok {
		return n
	}
	return def
}

// TB is the part of testing.TB that Enable and RequireFired use (this
// package must not import testing: the broker imports it).
type TB interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
	Cleanup(func())
}

// Option changes how Enable sets a point.
type Option func(*options)

type options struct {
	nodes    []int32
	optional bool
}

// OnNodes makes the point fire only in the brokers with these node ids.
func OnNodes(ids ...int32) Option { return func(o *options) { o.nodes = append(o.nodes, ids...) } }

// MayNotFire lifts the rule that the point must fire before the test ends
// (for a point that guards a rare path the test does not insist on).
func MayNotFire() Option { return func(o *options) { o.optional = true } }
