package clock

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var epoch = time.Unix(1_700_000_000, 0)

func TestFakeTimerFiresOnlyWhenAdvancedPastItsDeadline(t *testing.T) {
	c := NewFake(epoch)
	tm := c.NewTimer(time.Second)
	c.Advance(999 * time.Millisecond)
	select {
	case <-tm.C():
		t.Fatal("fired before its deadline")
	default:
	}
	c.Advance(time.Millisecond)
	assert.Equal(t, epoch.Add(time.Second), <-tm.C())
	assert.False(t, tm.Stop(), "a fired timer cannot be stopped")
	assert.Equal(t, 0, c.Timers())
}

func TestFakeStoppedTimerNeverFires(t *testing.T) {
	c := NewFake(epoch)
	var fired atomic.Bool
	tm := c.AfterFunc(time.Second, func() { fired.Store(true) })
	require.True(t, tm.Stop())
	c.Advance(time.Hour)
	assert.False(t, fired.Load())
	assert.Equal(t, 0, c.Timers())
}

func TestFakeFiresInDeadlineOrder(t *testing.T) {
	c := NewFake(epoch)
	order := make(chan int, 3)
	a := c.NewTimer(3 * time.Second)
	b := c.NewTimer(time.Second)
	d := c.NewTimer(2 * time.Second)
	go func() {
		for i, tm := range []Timer{b, d, a} {
			<-tm.C()
			order <- i
		}
	}()
	c.Advance(5 * time.Second)
	for want := range 3 {
		assert.Equal(t, want, <-order)
	}
}

func TestFakeAfterFuncRuns(t *testing.T) {
	c := NewFake(epoch)
	done := make(chan time.Time)
	c.AfterFunc(time.Minute, func() { done <- c.Now() })
	c.Set(epoch.Add(2 * time.Minute))
	assert.Equal(t, epoch.Add(2*time.Minute), <-done)
}

func TestFakeWaitForTimers(t *testing.T) {
	c := NewFake(epoch)
	go c.NewTimer(time.Second)
	require.True(t, c.WaitForTimers(1, nil))
	stop := make(chan struct{})
	close(stop)
	assert.False(t, c.WaitForTimers(2, stop))
}

func TestRealClockTimers(t *testing.T) {
	c := OrReal(nil)
	tm := c.NewTimer(time.Millisecond)
	<-tm.C()
	ran := make(chan struct{})
	c.AfterFunc(time.Millisecond, func() { close(ran) })
	<-ran
}

func TestAlarmKeepsOneTimerAndIgnoresStaleFirings(t *testing.T) {
	c := NewFake(epoch)
	a := NewAlarm(c)
	fired := make(chan uint64, 4)
	f := func(seq uint64) { fired <- seq }

	a.Set(epoch.Add(time.Second), true, f)
	a.Set(epoch.Add(time.Second), true, f) // same deadline: same timer
	assert.Equal(t, 1, c.Timers())
	a.Set(epoch.Add(2*time.Second), true, f) // moved: the old timer stops
	assert.Equal(t, 1, c.Timers())
	c.Advance(2 * time.Second)
	seq := <-fired
	assert.True(t, a.Fired(seq))
	assert.False(t, a.Fired(seq), "spent")

	a.Set(epoch.Add(3*time.Second), true, f)
	a.Set(time.Time{}, false, f)
	assert.Equal(t, 0, c.Timers(), "stopped")
	assert.False(t, a.Fired(seq+1), "a stopped alarm's firing is stale")
}
