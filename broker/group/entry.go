package group

import (
	"context"
	"errors"
	"fmt"
	"github.com/ordo-broker/ordo/broker/clock"
	"sync"

	"github.com/ordo-broker/ordo/broker/partition"
	"github.com/ordo-broker/ordo/broker/storage"
)

// entry drives one group's state machine: it serialises calls into it
// (mu), delivers its replies to the requests parked on them, appends its
// writes and feeds their outcome back, and keeps one timer armed for its
// next deadline. Groups never wait on each other: each has its own lock,
// and nothing waits for a commit while holding it.
type entry struct {
	sh *shard

	mu       sync.Mutex
	g        *Group
	waiters  map[Waiter]chan Reply
	unloaded bool
	// lastWrite is closed once the group's previous write has been fed
	// back: outcomes are applied in log order.
	lastWrite chan struct{}
	alarm     *clock.Alarm // the machine's next deadline
}

func newEntry(sh *shard, g *Group) *entry {
	return &entry{sh: sh, g: g, waiters: map[Waiter]chan Reply{}, alarm: clock.NewAlarm(sh.c.cfg.Clock)}
}

// park registers a waiter for a request the machine may answer later.
// Called with e.mu held.
func (e *entry) park() *Pending {
	w := e.sh.c.newWaiter()
	ch := make(chan Reply, 1)
	e.waiters[w] = ch
	return &Pending{e: e, w: w, ch: ch}
}

// apply does what an Output asks: replies first, then writes. Called with
// e.mu held.
func (e *entry) apply(out Output) {
	for _, r := range out.Replies {
		if ch, ok := e.waiters[r.To]; ok {
			delete(e.waiters, r.To)
			ch <- r // buffered; each waiter gets one reply
		}
	}
	for _, w := range out.Writes {
		e.write(w)
	}
}

// write appends w as one batch and, once it is committed (or failed),
// feeds the outcome back to the machine. Called with e.mu held: appends of
// one group reach the log in the order the machine asked for them.
func (e *entry) write(w Write) {
	c := e.sh.c
	now := c.now()
	a, err := e.sh.log.Append(EncodeBatch(w.Records, now), now)
	if err != nil {
		e.apply(e.g.Written(now, w.ID, -1, e.writeError(err)))
		return
	}
	prev := e.lastWrite
	done := make(chan struct{})
	e.lastWrite = done
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer close(done)
		err := e.sh.log.WaitCommitted(c.ctx, a, c.cfg.CommitTimeout)
		if prev != nil {
			<-prev
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.unloaded {
			return
		}
		e.apply(e.g.Written(c.now(), w.ID, a.FirstOffset, e.writeError(err)))
		e.arm()
	}()
}

// writeError is what a failed write of __consumer_offsets means to a
// client, as Kafka maps it: the coordinator moved, is not available, or a
// server error (logged here: the client only sees UNKNOWN_SERVER_ERROR).
func (e *entry) writeError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, partition.ErrNotLeader), errors.Is(err, partition.ErrStopped),
		errors.Is(err, partition.ErrFencedLeaderEpoch), errors.Is(err, storage.ErrClosed),
		errors.Is(err, storage.ErrCorruptLog):
		return ErrNotCoordinator
	case errors.Is(err, partition.ErrTimeout), errors.Is(err, context.Canceled),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, partition.ErrResourceExhausted):
		return ErrCoordinatorNotAvailable
	}
	e.sh.c.cfg.Logger.Error("group coordinator: writing __consumer_offsets failed", "group", e.g.ID(), "partition", e.sh.index, "err", err)
	return fmt.Errorf("%w: %v", ErrWriteFailed, err)
}

// arm points the group's timer at its next deadline. Called with e.mu
// held.
func (e *entry) arm() {
	at, ok := e.g.NextDeadline()
	e.alarm.Set(at, ok && !e.unloaded, e.fire)
}

// fire runs the machine's due deadlines.
func (e *entry) fire(seq uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.unloaded || !e.alarm.Fired(seq) {
		return
	}
	e.apply(e.g.Tick(e.sh.c.now()))
	e.arm()
}

// unload answers every parked request with NOT_COORDINATOR and stops the
// timer. Called with e.mu held.
func (e *entry) unload() {
	e.unloaded = true
	e.alarm.Stop()
	for w, ch := range e.waiters {
		ch <- Reply{To: w, Err: ErrNotCoordinator}
	}
	clear(e.waiters)
}

// Pending is a request the coordinator answers later: JoinGroup and
// SyncGroup park until the rebalance gets there; writes wait until their
// records are committed.
type Pending struct {
	e  *entry
	w  Waiter
	ch chan Reply
}

// done is a Pending answered at once.
func done(r Reply) *Pending {
	ch := make(chan Reply, 1)
	ch <- r
	return &Pending{ch: ch}
}

// Wait returns the reply, or ctx's error if ctx ends first (the connection
// closed or the broker is stopping); the machine then answers no one.
func (p *Pending) Wait(ctx context.Context) (Reply, error) {
	select {
	case r := <-p.ch:
		return r, nil
	case <-ctx.Done():
		if p.e != nil {
			p.e.mu.Lock()
			delete(p.e.waiters, p.w)
			p.e.mu.Unlock()
		}
		// It may have been answered just now: prefer the answer.
		select {
		case r := <-p.ch:
			return r, nil
		default:
		}
		return Reply{}, ctx.Err()
	}
}
