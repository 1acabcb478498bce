package group

import "time"

// Heartbeat keeps a member's session alive. During a rebalance it answers
// REBALANCE_IN_PROGRESS, which tells the member to rejoin.
func (g *Group) Heartbeat(now time.Time, req HeartbeatRequest) (Output, error) {
	g.begin(now)
	err := g.heartbeat(req)
	return g.end(), err
}

func (g *Group) heartbeat(req HeartbeatRequest) error {
	if g.state == Dead {
		return ErrCoordinatorNotAvailable
	}
	if err := g.validateMember(req.MemberID, req.InstanceID); err != nil {
		return err
	}
	if req.Generation != g.generation {
		return ErrIllegalGeneration
	}
	m := g.members[req.MemberID]
	switch g.state {
	case PreparingRebalance:
		g.scheduleHeartbeat(m)
		return ErrRebalanceInProgress
	case CompletingRebalance, Stable:
		// Members may heartbeat between their JoinGroup and SyncGroup.
		g.scheduleHeartbeat(m)
		return nil
	}
	return ErrUnknownMemberID
}

// Leave removes members (LeaveGroup; v3+ batches them and may name static
// members by group.instance.id alone, KIP-345). The group rebalances
// without them; a JoinGroup a leaving member has parked gets
// UNKNOWN_MEMBER_ID. err is set when the whole request failed.
func (g *Group) Leave(now time.Time, members []LeaveMember) (out Output, results []LeaveResult, err error) {
	g.begin(now)
	if g.state == Dead {
		return g.end(), nil, ErrCoordinatorNotAvailable
	}
	left := false
	for _, lm := range members {
		r := LeaveResult{MemberID: lm.MemberID, InstanceID: lm.InstanceID}
		switch {
		case lm.MemberID == "":
			if id, ok := staticID(g, lm.InstanceID); ok {
				g.remove(id)
				left = true
			} else {
				r.Err = ErrUnknownMemberID
			}
		case g.hasPending(lm.MemberID):
			delete(g.pending, lm.MemberID)
			left = true
		default:
			if r.Err = g.validateMember(lm.MemberID, lm.InstanceID); r.Err == nil {
				g.remove(lm.MemberID)
				left = true
			}
		}
		results = append(results, r)
	}
	if left {
		switch g.state {
		case Stable, CompletingRebalance:
			g.maybePrepareRebalanceOrCompleteJoin()
		case PreparingRebalance:
			g.maybeCompleteJoinPhase()
		}
	}
	return g.end(), results, nil
}

func staticID(g *Group, instanceID *string) (string, bool) {
	if instanceID == nil {
		return "", false
	}
	id, ok := g.static[*instanceID]
	return id, ok
}

func (g *Group) hasPending(id string) bool {
	_, ok := g.pending[id]
	return ok
}

// heartbeatExpired is the end of a member's session: members waiting in
// JoinGroup or SyncGroup are exempt (their wait is bounded by the rebalance)
// unless they are new; anyone else is removed and the group rebalances.
func (g *Group) heartbeatExpired(m *member) {
	if !m.isNew && (m.joinWaiter != 0 || m.syncWaiter != 0) {
		return
	}
	g.remove(m.id)
	switch {
	case g.state == Stable || g.state == CompletingRebalance:
		g.maybePrepareRebalanceOrCompleteJoin()
	case g.state == PreparingRebalance && g.allJoined():
		g.completeJoinPhase()
	}
}

// pendingExpired drops a member id given with MEMBER_ID_REQUIRED that was
// never used.
func (g *Group) pendingExpired(id string) {
	delete(g.pending, id)
	if g.state == PreparingRebalance && g.allJoined() {
		g.completeJoinPhase()
	}
}
