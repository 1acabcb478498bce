// Package clock is the broker's time seam: every reading of the time and
// every timer of the broker (long-poll deadlines, produce timeouts, flush
// deadlines, group deadlines, the log cleaner's rounds) goes through a
// Clock, so a test can drive time instead of waiting for it. Real is the
// wall clock; Fake is its in-memory twin, which moves only when the test
// says so (Advance) and fires the timers that fall due, in deadline order.
//
// Pure decision code (the group state machine, the replica core) takes
// time as an argument and never holds a Clock; the I/O shells around it
// read the clock and arm its timers.
package clock

import "time"

// Clock tells the time and makes timers.
type Clock interface {
	// Now is the current time.
	Now() time.Time
	// NewTimer returns a timer whose channel receives the time once d has
	// passed.
	NewTimer(d time.Duration) Timer
	// AfterFunc calls f in its own goroutine once d has passed, unless
	// the returned timer is stopped first.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a one-shot timer of a Clock.
type Timer interface {
	// C receives the time when the timer fires (nil for AfterFunc
	// timers, whose function runs instead).
	C() <-chan time.Time
	// Stop prevents the timer from firing. It reports whether it did
	// (false: the timer had already fired or been stopped).
	Stop() bool
}

// Real is the wall clock, through package time.
type Real struct{}

// Now is time.Now.
func (Real) Now() time.Time { return time.Now() }

// NewTimer is time.NewTimer.
func (Real) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

// AfterFunc is time.AfterFunc.
func (Real) AfterFunc(d time.Duration, f func()) Timer { return realTimer{time.AfterFunc(d, f)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Stop() bool          { return r.t.Stop() }

// OrReal is c, or the wall clock when c is nil (config defaults).
func OrReal(c Clock) Clock {
	if c == nil {
		return Real{}
	}
	return c
}
