//go:build failpoints

package failpoints

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeT records what Enable and RequireFired report; Fatalf stops
// nothing (the callers return after it).
type fakeT struct {
	errors, fatals []string
	cleanups       []func()
}

func (f *fakeT) Helper()             {}
func (f *fakeT) Logf(string, ...any) {}
func (f *fakeT) Cleanup(fn func())   { f.cleanups = append(f.cleanups, fn) }
func (f *fakeT) Errorf(format string, a ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, a...))
}
func (f *fakeT) Fatalf(format string, a ...any) {
	f.fatals = append(f.fatals, fmt.Sprintf(format, a...))
}
func (f *fakeT) end() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
	f.cleanups = nil
}

func TestEnableRefusesUnknownNames(t *testing.T) {
	var ft fakeT
	Enable(&ft, "ordo/partition/ack-without-apend", "return(true)")
	require.Len(t, ft.fatals, 1)
	require.Contains(t, ft.fatals[0], "not in the registry")
	RequireFired(&ft, "ordo/nope")
	require.Len(t, ft.fatals, 2)
}

func TestEnableRefusesBadTerms(t *testing.T) {
	var ft fakeT
	Enable(&ft, BeforeFsync, "retrun(true)")
	require.Len(t, ft.fatals, 1)
	ft.end()
}

func TestEvalFiresAndCounts(t *testing.T) {
	_, ok := Eval(ReuseOffsets, 0)
	require.False(t, ok, "off until enabled")

	var ft fakeT
	Enable(&ft, ReuseOffsets, "2*return(3)")
	v, ok := Eval(ReuseOffsets, 0)
	require.True(t, ok)
	require.Equal(t, 3, Int(v, 1))
	_, ok = Eval(ReuseOffsets, 7)
	require.True(t, ok)
	_, ok = Eval(ReuseOffsets, 0)
	require.False(t, ok, "the count is used up")
	require.EqualValues(t, 2, Fired(ReuseOffsets))
	RequireFired(&ft, ReuseOffsets)
	ft.end()
	require.Empty(t, ft.errors)
	require.Empty(t, ft.fatals)
	_, ok = Eval(ReuseOffsets, 0)
	require.False(t, ok, "disabled when the test ends")
}

func TestNodeFilter(t *testing.T) {
	var ft fakeT
	Enable(&ft, AckWithoutAppend, "1*return", OnNodes(2))
	_, ok := Eval(AckWithoutAppend, 1)
	require.False(t, ok, "node 1 is not targeted")
	require.EqualValues(t, 0, Fired(AckWithoutAppend))
	_, ok = Eval(AckWithoutAppend, 2)
	require.True(t, ok, "the count was not used up by node 1")
	ft.end()
	require.Empty(t, ft.errors)
}

func TestSleepCountsButDoesNotReturn(t *testing.T) {
	var ft fakeT
	Enable(&ft, BeforeFsync, "sleep(1)")
	_, ok := Eval(BeforeFsync, 0)
	require.False(t, ok)
	require.EqualValues(t, 1, Fired(BeforeFsync))
	ft.end()
	require.Empty(t, ft.errors)
}

func TestUnfiredPointFailsTheTest(t *testing.T) {
	var ft fakeT
	Enable(&ft, StaleHighWatermark, "return(1)")
	RequireFired(&ft, StaleHighWatermark)
	require.Len(t, ft.fatals, 1)
	ft.end()
	require.Len(t, ft.errors, 1)
	require.Contains(t, ft.errors[0], "never fired")

	ft = fakeT{}
	Enable(&ft, StaleHighWatermark, "return(1)", MayNotFire())
	ft.end()
	require.Empty(t, ft.errors)
}
