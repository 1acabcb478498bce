//go:build failpoints

package failpoints

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/pingcap/failpoint"
)

// Enabled tells whether this binary was built with -tags failpoints.
const Enabled = true

// point is the wrapper's state of one registry entry.
type point struct {
	fired atomic.Int64                   // evaluations whose term acted, since the last Enable
	nodes atomic.Pointer[map[int32]bool] // nil: every node
}

// points is built once from the registry and never changes after init.
var points = func() map[Name]*point {
	m := make(map[Name]*point, len(All))
	for _, n := range All {
		m[n] = &point{}
	}
	return m
}()

// envPoints are the points GO_FAILPOINTS enabled at start.
var envPoints []Name

func init() {
	for _, kv := range strings.Split(os.Getenv("GO_FAILPOINTS"), ";") {
		name, _, _ := strings.Cut(kv, "=")
		if name == "" {
			continue
		}
		if !Known(Name(name)) {
			fmt.Fprintf(os.Stderr, "failpoints: GO_FAILPOINTS names %q, which is not in the registry (broker/failpoints/registry.go)\n", name)
			os.Exit(2)
		}
		envPoints = append(envPoints, Name(name))
	}
}

// Eval evaluates the point in the broker with node id node. ok is true
// when a return action fired; v is its value (struct{}{} for a bare
// return). A sleep, pause, print or off action runs and counts as fired,
// but ok is false.
func Eval(name Name, node int32) (v any, ok bool) {
	p := points[name]
	if p == nil {
		return nil, false
	}
	if f := p.nodes.Load(); f != nil && !(*f)[node] {
		return nil, false
	}
	val, err := failpoint.Eval(string(name))
	if err != nil {
		return nil, false // disabled, not enabled, or its term did not allow this time
	}
	p.fired.Add(1)
	if val == nil {
		return nil, false
	}
	return val, true
}

// Enable turns name on with term (failpoint's syntax) until Disable or the
// end of the test. A name outside the registry, or a bad term, fails the
// test. When the test ends, the point is disabled and, unless MayNotFire,
// the test fails if it never fired.
func Enable(t TB, name Name, term string, opts ...Option) {
	t.Helper()
	p := points[name]
	if p == nil {
		t.Fatalf("failpoints: %q is not in the registry (broker/failpoints/registry.go)", name)
		return
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if len(o.nodes) > 0 {
		f := map[int32]bool{}
		for _, n := range o.nodes {
			f[n] = true
		}
		p.nodes.Store(&f)
	} else {
		p.nodes.Store(nil)
	}
	p.fired.Store(0)
	if err := failpoint.Enable(string(name), term); err != nil {
		t.Fatalf("failpoints: enabling %s=%s: %v", name, term, err)
		return
	}
	where := "every node"
	if len(o.nodes) > 0 {
		where = fmt.Sprintf("nodes %v", o.nodes)
	}
	t.Logf("failpoint %s=%s on %s", name, term, where)
	t.Cleanup(func() {
		Disable(name)
		if n := p.fired.Load(); !o.optional && n == 0 {
			t.Errorf("failpoint %s=%s was enabled but never fired", name, term)
		}
	})
}

// Disable turns name off (its fired count stays, for RequireFired and the
// end-of-test check).
func Disable(name Name) {
	if p := points[name]; p != nil {
		_ = failpoint.Disable(string(name)) // ErrNotExist: never enabled
		p.nodes.Store(nil)
	}
}

// Fired is how many times name's term acted since it was last enabled.
func Fired(name Name) int64 {
	if p := points[name]; p != nil {
		return p.fired.Load()
	}
	return 0
}

// RequireFired fails the test unless every one of names fired.
func RequireFired(t TB, names ...Name) {
	t.Helper()
	var silent []Name
	for _, n := range names {
		if !Known(n) {
			t.Fatalf("failpoints: %q is not in the registry", n)
			return
		}
		if Fired(n) == 0 {
			silent = append(silent, n)
		}
	}
	if len(silent) > 0 {
		t.Fatalf("failpoints: never fired: %v", silent)
	}
}

// UnfiredFromEnv lists the points GO_FAILPOINTS enabled that have not
// fired: a TestMain calls it after m.Run and fails the run if it is not
// empty.
func UnfiredFromEnv() []Name {
	var out []Name
	for _, n := range envPoints {
		if Fired(n) == 0 && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}
