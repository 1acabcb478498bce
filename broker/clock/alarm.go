package clock

import "time"

// Alarm keeps one timer pointed at the next deadline of a pure state
// machine (a group's, a replica's): the machine says when it next needs
// Tick, the alarm makes sure exactly one timer will call back then.
//
// An Alarm is not safe for concurrent use on its own: the caller guards
// it with the lock that guards the machine. The callback takes that lock
// and first asks Fired whether it is still the current timer, since a
// timer that was replaced or stopped may already be on its way.
type Alarm struct {
	clock Clock
	timer Timer
	at    time.Time
	seq   uint64
}

// NewAlarm returns an alarm on c.
func NewAlarm(c Clock) *Alarm { return &Alarm{clock: c} }

// Set points the alarm at at, or stops it when ok is false. When the clock
// reaches at, f runs in its own goroutine with the timer's sequence number,
// to pass to Fired. Setting the deadline it already has keeps the timer.
func (a *Alarm) Set(at time.Time, ok bool, f func(seq uint64)) {
	if !ok {
		a.Stop()
		return
	}
	if a.timer != nil && a.at.Equal(at) {
		return
	}
	a.Stop()
	a.seq++
	seq := a.seq
	a.at = at
	a.timer = a.clock.AfterFunc(at.Sub(a.clock.Now()), func() { f(seq) })
}

// Stop stops the timer, if one is set.
func (a *Alarm) Stop() {
	if a.timer != nil {
		a.timer.Stop()
		a.timer = nil
	}
}

// Fired tells whether the timer with sequence number seq is the current
// one; if it is, the alarm is spent (Set arms it again). A stale timer
// (replaced or stopped since) must do nothing: the current one covers it.
func (a *Alarm) Fired(seq uint64) bool {
	if a.timer == nil || seq != a.seq {
		return false
	}
	a.timer = nil
	return true
}
