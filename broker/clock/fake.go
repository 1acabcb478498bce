package clock

import (
	"sort"
	"sync"
	"time"
)

// Fake is a Clock that moves only when told to: Advance and Set move it,
// and fire, in deadline order, every timer that falls due (a timer armed
// by a firing function fires in the same call when it is due too). It is
// safe for concurrent use. Its zero value is not usable: use NewFake.
type Fake struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
	seq    uint64
	// armed is closed and replaced whenever a timer is armed, for
	// WaitForTimers.
	armed chan struct{}
}

// NewFake returns a fake clock reading start.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start, armed: make(chan struct{})}
}

type fakeTimer struct {
	c     *Fake
	at    time.Time
	seq   uint64 // arming order: ties fire in it
	ch    chan time.Time
	fn    func()
	armed bool
}

// Now is the fake time.
func (c *Fake) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer arms a timer that sends on its channel when the fake time
// reaches now+d (at once when d <= 0).
func (c *Fake) NewTimer(d time.Duration) Timer {
	return c.arm(d, make(chan time.Time, 1), nil)
}

// AfterFunc arms a timer that runs f in its own goroutine when the fake
// time reaches now+d.
func (c *Fake) AfterFunc(d time.Duration, f func()) Timer {
	return c.arm(d, nil, f)
}

func (c *Fake) arm(d time.Duration, ch chan time.Time, fn func()) Timer {
	c.mu.Lock()
	c.seq++
	t := &fakeTimer{c: c, at: c.now.Add(d), seq: c.seq, ch: ch, fn: fn, armed: true}
	c.timers = append(c.timers, t)
	close(c.armed)
	c.armed = make(chan struct{})
	c.mu.Unlock()
	if d <= 0 {
		c.Advance(0)
	}
	return t
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.armed
	t.disarm()
	return was
}

// disarm removes t from the clock. c.mu is held.
func (t *fakeTimer) disarm() {
	if !t.armed {
		return
	}
	t.armed = false
	for i, o := range t.c.timers {
		if o == t {
			t.c.timers = append(t.c.timers[:i], t.c.timers[i+1:]...)
			break
		}
	}
}

// Advance moves the clock forward by d and fires what falls due.
func (c *Fake) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.fireDue()
}

// Set moves the clock to t (never backwards) and fires what falls due.
func (c *Fake) Set(t time.Time) {
	c.mu.Lock()
	if t.After(c.now) {
		c.now = t
	}
	c.fireDue()
}

// fireDue fires due timers, earliest first. Called with c.mu held; it
// releases it.
func (c *Fake) fireDue() {
	for {
		sort.Slice(c.timers, func(i, j int) bool {
			a, b := c.timers[i], c.timers[j]
			if !a.at.Equal(b.at) {
				return a.at.Before(b.at)
			}
			return a.seq < b.seq
		})
		if len(c.timers) == 0 || c.timers[0].at.After(c.now) {
			c.mu.Unlock()
			return
		}
		t := c.timers[0]
		t.disarm()
		now := c.now
		c.mu.Unlock()
		if t.fn != nil {
			go t.fn()
		} else {
			t.ch <- now // buffered: one send per timer
		}
		c.mu.Lock()
	}
}

// Timers is how many timers are armed.
func (c *Fake) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// WaitForTimers blocks until at least n timers are armed, so a test can
// advance the clock once the code under test is waiting on it. It gives
// up, returning false, when done is closed.
func (c *Fake) WaitForTimers(n int, done <-chan struct{}) bool {
	for {
		c.mu.Lock()
		have, ch := len(c.timers), c.armed
		c.mu.Unlock()
		if have >= n {
			return true
		}
		select {
		case <-ch:
		case <-done:
			return false
		}
	}
}
