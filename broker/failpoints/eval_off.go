//go:build !failpoints

package failpoints

// Enabled tells whether this binary was built with -tags failpoints.
const Enabled = false

// Eval never fires without the failpoints build tag; the compiler removes
// the call and the branch it guards.
func Eval(Name, int32) (any, bool) { return nil, false }

const notBuilt = "failpoints: built without -tags failpoints, so %s cannot fire"

// Enable fails the test: without the build tag no point can fire.
func Enable(t TB, name Name, term string, opts ...Option) {
	t.Helper()
	t.Fatalf(notBuilt, name)
}

// Disable does nothing without the build tag.
func Disable(Name) {}

// Fired is always 0 without the build tag.
func Fired(Name) int64 { return 0 }

// RequireFired fails the test: without the build tag no point fires.
func RequireFired(t TB, names ...Name) {
	t.Helper()
	t.Fatalf(notBuilt, names)
}

// UnfiredFromEnv is empty without the build tag.
func UnfiredFromEnv() []Name { return nil }
