package group

import (
	"maps"
	"slices"
	"time"
)

// The group's deadlines — Kafka's timer keys — live in the group as
// values: the join deadline (initial delay or rebalance timeout), the
// pending-sync deadline, each member's session and each pending member id's
// session. The caller arms one timer for NextDeadline and calls Tick when it
// fires.

// NextDeadline is the earliest deadline, and whether there is one.
func (g *Group) NextDeadline() (time.Time, bool) {
	_, at := g.earliest()
	return at, !at.IsZero()
}

// Tick fires every deadline that is due at now, earliest first.
func (g *Group) Tick(now time.Time) Output {
	g.begin(now)
	// Every firing clears or moves its deadline; the bound only guards
	// against a bug turning this into a busy loop.
	for range 10000 {
		d, at := g.earliest()
		if at.IsZero() || at.After(now) {
			break
		}
		g.fire(d)
	}
	return g.end()
}

type deadlineKind int8

const (
	deadlineJoin deadlineKind = iota
	deadlineSync
	deadlinePending
	deadlineSession
)

type deadline struct {
	kind deadlineKind
	id   string // member id for deadlinePending and deadlineSession
}

// earliest finds the first deadline; ties go by kind, then member order.
func (g *Group) earliest() (deadline, time.Time) {
	var best deadline
	var at time.Time
	consider := func(d deadline, t time.Time) {
		if !t.IsZero() && (at.IsZero() || t.Before(at)) {
			best, at = d, t
		}
	}
	consider(deadline{kind: deadlineJoin}, g.join.at)
	consider(deadline{kind: deadlineSync}, g.syncAt)
	for _, id := range slices.Sorted(maps.Keys(g.pending)) {
		consider(deadline{deadlinePending, id}, g.pending[id])
	}
	for _, id := range g.order {
		consider(deadline{deadlineSession, id}, g.members[id].heartbeatAt)
	}
	return best, at
}

func (g *Group) fire(d deadline) {
	switch d.kind {
	case deadlineJoin:
		t := g.join
		g.join = joinTimer{}
		if g.state != PreparingRebalance {
			return
		}
		if t.initial {
			g.initialDelayExpired(t)
		} else {
			g.completeJoinPhase()
		}
	case deadlineSync:
		g.syncAt = time.Time{}
		g.pendingSyncExpired(g.syncGen)
	case deadlinePending:
		g.pendingExpired(d.id)
	case deadlineSession:
		m := g.members[d.id]
		m.heartbeatAt = time.Time{}
		g.heartbeatExpired(m)
	}
}
