package group

import "time"

// The rebalance protocol, as Kafka's GroupMetadataManager runs it for
// classic groups: PreparingRebalance collects JoinGroups until every member
// has rejoined or the rebalance timeout ends; the join phase then answers
// every JoinGroup (the leader gets the members) and CompletingRebalance
// waits for the leader's SyncGroup, whose assignment is written to the log
// before anyone gets it; then the group is Stable.

// maybePrepareRebalanceOrCompleteJoin starts a rebalance if the group may
// start one, or finishes the join phase if it is complete.
func (g *Group) maybePrepareRebalanceOrCompleteJoin() {
	switch g.state {
	case Stable, CompletingRebalance, Empty:
		g.prepareRebalance()
	default:
		g.maybeCompleteJoinPhase()
	}
}

// maybeCompleteJoinPhase finishes the join phase once every member has
// rejoined — except during the initial rebalance, which waits out its delay
// for more members.
func (g *Group) maybeCompleteJoinPhase() {
	if g.state == PreparingRebalance && g.allJoined() && g.prevState != Empty {
		g.completeJoinPhase()
	}
}

func (g *Group) prepareRebalance() {
	if g.state == CompletingRebalance {
		// Members waiting in SyncGroup must rejoin.
		g.resetAndPropagateAssignment(ErrRebalanceInProgress)
	}
	g.syncAt = time.Time{}
	clear(g.pendingSync)
	initial := g.state == Empty
	if initial {
		// A new group: give more members the chance to join before the
		// first generation (KIP-134).
		delay := int32(g.cfg.InitialRebalanceDelay / time.Millisecond)
		g.join = joinTimer{
			at:          g.now.Add(time.Duration(delay) * time.Millisecond),
			initial:     true,
			delayMs:     delay,
			remainingMs: max(g.rebalanceTimeoutMs()-delay, 0),
		}
	}
	g.transition(PreparingRebalance)
	if !initial {
		g.maybeCompleteJoinElseSchedule()
	}
}

func (g *Group) maybeCompleteJoinElseSchedule() {
	if g.allJoined() {
		g.completeJoinPhase()
		return
	}
	g.join = joinTimer{at: g.now.Add(time.Duration(g.rebalanceTimeoutMs()) * time.Millisecond)}
}

// initialDelayExpired is the end of one step of the initial rebalance
// delay: another step if members kept joining, else the join phase ends.
func (g *Group) initialDelayExpired(t joinTimer) {
	if g.newMemberAdded && t.remainingMs != 0 {
		g.newMemberAdded = false
		delay := min(int32(g.cfg.InitialRebalanceDelay/time.Millisecond), t.remainingMs)
		g.join = joinTimer{
			at:          g.now.Add(time.Duration(delay) * time.Millisecond),
			initial:     true,
			delayMs:     delay,
			remainingMs: max(t.remainingMs-t.delayMs, 0),
		}
		return
	}
	g.completeJoinPhase()
}

// completeJoinPhase is Kafka's completeClassicGroupJoin: dynamic members
// that did not rejoin are dropped (static ones stay until their session
// expires), a leader that did not rejoin is replaced, and the next
// generation starts.
func (g *Group) completeJoinPhase() {
	if g.state != PreparingRebalance {
		return
	}
	g.join = joinTimer{}
	for _, id := range append([]string(nil), g.order...) {
		if m := g.members[id]; m.joinWaiter == 0 && !m.static() {
			g.remove(id)
		}
	}
	if !g.electJoinedLeader() && len(g.members) > 0 {
		// Nobody rejoined: wait another rebalance timeout for sessions
		// to expire.
		g.join = joinTimer{at: g.now.Add(time.Duration(g.rebalanceTimeoutMs()) * time.Millisecond)}
		return
	}
	g.initNextGeneration()
	if g.state == Empty {
		g.write([]Record{groupMetadataRecord(g, nil)}, pendingWrite{kind: writeGroup})
		return
	}
	for _, id := range g.order {
		m := g.members[id]
		g.completeJoin(m, g.joinResult(id, id == g.leader))
		g.scheduleHeartbeat(m)
		m.isNew = false
		g.pendingSync[id] = true
	}
	g.syncAt = g.now.Add(time.Duration(g.rebalanceTimeoutMs()) * time.Millisecond)
	g.syncGen = g.generation
}

// electJoinedLeader keeps the leader if it rejoined, or makes the first
// member that did the leader. It reports whether the group has a leader
// that rejoined.
func (g *Group) electJoinedLeader() bool {
	if g.leader == "" {
		return false
	}
	if g.members[g.leader].joinWaiter != 0 {
		return true
	}
	for _, id := range g.order {
		if g.members[id].joinWaiter != 0 {
			g.leader = id
			return true
		}
	}
	return false
}

func (g *Group) initNextGeneration() {
	g.generation++
	if len(g.members) > 0 {
		g.protocol = g.selectProtocol()
		g.subscribed = g.computeSubscribed()
		g.transition(CompletingRebalance)
	} else {
		g.protocol = ""
		g.subscribed = g.computeSubscribed()
		g.transition(Empty)
	}
	clear(g.pendingSync)
}

// resetAndPropagateAssignment clears the assignments and answers every
// parked SyncGroup with err.
func (g *Group) resetAndPropagateAssignment(err error) {
	for _, m := range g.members {
		m.assignment = nil
	}
	g.propagateAssignment(err)
}

// propagateAssignment answers every parked SyncGroup with the member's
// assignment (or err), and restarts those members' sessions.
func (g *Group) propagateAssignment(err error) {
	var protocolType, protocol *string
	if err == nil {
		protocolType, protocol = optional(g.protocolType), optional(g.protocol)
	}
	for _, id := range g.order {
		m := g.members[id]
		if g.completeSync(m, SyncResult{Err: err, ProtocolType: protocolType, Protocol: protocol, Assignment: m.assignment}) {
			g.scheduleHeartbeat(m)
		}
	}
}

// pendingSyncExpired drops the members that did not send SyncGroup within
// the rebalance timeout, and rebalances without them.
func (g *Group) pendingSyncExpired(generation int32) {
	if generation != g.generation || len(g.pendingSync) == 0 {
		return
	}
	if g.state != CompletingRebalance && g.state != Stable {
		return
	}
	for _, id := range append([]string(nil), g.order...) {
		if g.pendingSync[id] {
			g.remove(id)
		}
	}
	clear(g.pendingSync)
	g.prepareRebalance()
}
