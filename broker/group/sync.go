package group

import "time"

// Sync handles a SyncGroup parked as w. Followers wait for the leader; the
// leader's assignment is written to the log, and everyone gets theirs once
// the write is committed (Written).
func (g *Group) Sync(now time.Time, w Waiter, req SyncRequest) Output {
	g.begin(now)
	defer g.removeSyncExpiryIfDone()
	if err := g.validateSync(req); err != nil {
		g.reply(Reply{To: w, Sync: &SyncResult{Err: err}})
		return g.end()
	}
	m := g.members[req.MemberID]
	switch g.state {
	case Empty:
		g.reply(Reply{To: w, Sync: &SyncResult{Err: ErrUnknownMemberID}})
	case PreparingRebalance:
		g.reply(Reply{To: w, Sync: &SyncResult{Err: ErrRebalanceInProgress}})
	case CompletingRebalance:
		if m.syncWaiter != 0 && m.syncWaiter != w {
			g.reply(Reply{To: m.syncWaiter, Sync: &SyncResult{Err: ErrRebalanceInProgress}})
		}
		m.syncWaiter = w
		delete(g.pendingSync, m.id)
		if m.id == g.leader {
			assignment := map[string][]byte{}
			for _, a := range req.Assignments {
				if g.members[a.MemberID] != nil {
					assignment[a.MemberID] = a.Assignment
				}
			}
			for id := range g.members {
				if _, ok := assignment[id]; !ok {
					assignment[id] = []byte{}
				}
			}
			g.write([]Record{groupMetadataRecord(g, assignment)}, pendingWrite{
				kind: writeAssignment, generation: g.generation, assignment: assignment,
			})
		}
	case Stable:
		delete(g.pendingSync, m.id)
		g.reply(Reply{To: w, Sync: &SyncResult{
			ProtocolType: optional(g.protocolType), Protocol: optional(g.protocol), Assignment: m.assignment,
		}})
	}
	return g.end()
}

func (g *Group) validateSync(req SyncRequest) error {
	if g.state == Dead {
		return ErrCoordinatorNotAvailable
	}
	if err := g.validateMember(req.MemberID, req.InstanceID); err != nil {
		return err
	}
	if req.Generation != g.generation {
		return ErrIllegalGeneration
	}
	if inconsistent(req.ProtocolType, g.protocolType) || inconsistent(req.Protocol, g.protocol) {
		return ErrInconsistentGroupProtocol
	}
	return nil
}

// inconsistent: SyncGroup v5 names the protocol type and protocol; both
// must be the group's when both are known.
func inconsistent(asked *string, have string) bool {
	return asked != nil && have != "" && *asked != have
}

func (g *Group) removeSyncExpiryIfDone() {
	if len(g.pendingSync) == 0 && (g.state == CompletingRebalance || g.state == Stable) {
		g.syncAt = time.Time{}
	}
}

// assignmentWritten finishes the leader's SyncGroup once its group record
// is written, if the group is still waiting for it.
func (g *Group) assignmentWritten(generation int32, assignment map[string][]byte, err error) {
	if g.state != CompletingRebalance || generation != g.generation {
		return
	}
	if err != nil {
		g.resetAndPropagateAssignment(err)
		g.maybePrepareRebalanceOrCompleteJoin()
		return
	}
	for id, m := range g.members {
		m.assignment = assignment[id]
	}
	g.propagateAssignment(nil)
	g.transition(Stable)
}
