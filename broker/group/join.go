package group

import "time"

// Join handles a JoinGroup parked as w. newMemberID is the id the member
// gets if it has none: the caller makes it unique (Kafka uses the client id,
// or the group.instance.id, followed by a UUID).
func (g *Group) Join(now time.Time, w Waiter, req JoinRequest, newMemberID string) Output {
	g.begin(now)
	switch {
	case !g.cfg.ValidSessionTimeout(req.SessionTimeoutMs):
		g.reply(Reply{To: w, Join: &JoinResult{Err: ErrInvalidSessionTimeout, MemberID: req.MemberID}})
	case g.state == Dead:
		// Deleted meanwhile: the client finds the coordinator again
		// and joins the group created in its place.
		g.reply(Reply{To: w, Join: &JoinResult{Err: ErrCoordinatorNotAvailable, MemberID: req.MemberID}})
	case !g.supportsProtocols(req.ProtocolType, req.Protocols):
		g.reply(Reply{To: w, Join: &JoinResult{Err: ErrInconsistentGroupProtocol, MemberID: req.MemberID}})
	case req.MemberID == "":
		g.joinNewMember(w, req, newMemberID)
	default:
		g.joinExistingMember(w, req)
	}
	return g.end()
}

func (g *Group) joinNewMember(w Waiter, req JoinRequest, newID string) {
	switch {
	case req.InstanceID != nil:
		// KIP-345: a static member needs no MEMBER_ID_REQUIRED round
		// trip; if its instance id is known it takes the old member's
		// place.
		if old, ok := g.static[*req.InstanceID]; ok && g.members[old] != nil {
			g.replaceStaticMember(w, req, old, newID)
			return
		}
		g.addMember(w, req, newID)
	case req.Version >= 4:
		// KIP-394: the member gets its id first and must rejoin with
		// it, so a client that never comes back leaves no member
		// behind — only a pending id that expires with its session.
		g.pending[newID] = g.now.Add(time.Duration(req.SessionTimeoutMs) * time.Millisecond)
		g.reply(Reply{To: w, Join: &JoinResult{Err: ErrMemberIDRequired, MemberID: newID}})
	default:
		g.addMember(w, req, newID)
	}
}

func (g *Group) joinExistingMember(w Waiter, req JoinRequest) {
	if _, ok := g.pending[req.MemberID]; ok && req.InstanceID == nil {
		g.addMember(w, req, req.MemberID)
		return
	}
	if err := g.validateMember(req.MemberID, req.InstanceID); err != nil {
		g.reply(Reply{To: w, Join: &JoinResult{Err: err, MemberID: req.MemberID}})
		return
	}
	m := g.members[req.MemberID]
	switch g.state {
	case PreparingRebalance:
		g.updateMember(m, req.Protocols, rebalanceTimeout(req), req.SessionTimeoutMs, w)
		g.maybePrepareRebalanceOrCompleteJoin()
	case CompletingRebalance:
		if m.matches(req.Protocols) {
			// It probably missed the JoinGroup response: send the
			// current generation again.
			g.reply(Reply{To: w, Join: ptr(g.joinResult(m.id, m.id == g.leader))})
			return
		}
		g.updateMember(m, req.Protocols, rebalanceTimeout(req), req.SessionTimeoutMs, w)
		g.maybePrepareRebalanceOrCompleteJoin()
	case Stable:
		if m.id == g.leader || !m.matches(req.Protocols) {
			// A leader rejoins to rebalance for changes only it
			// sees (topic metadata); anyone rejoins with new
			// metadata.
			g.updateMember(m, req.Protocols, rebalanceTimeout(req), req.SessionTimeoutMs, w)
			g.maybePrepareRebalanceOrCompleteJoin()
			return
		}
		g.reply(Reply{To: w, Join: ptr(g.joinResult(m.id, false))})
	default:
		g.reply(Reply{To: w, Join: &JoinResult{Err: ErrUnknownMemberID, MemberID: req.MemberID}})
	}
}

// addMember adds a member that joined and rebalances (or completes the join
// phase).
func (g *Group) addMember(w Waiter, req JoinRequest, id string) {
	m := &member{
		id:                 id,
		instanceID:         req.InstanceID,
		clientID:           req.ClientID,
		clientHost:         req.ClientHost,
		rebalanceTimeoutMs: rebalanceTimeout(req),
		sessionTimeoutMs:   req.SessionTimeoutMs,
		protocolType:       req.ProtocolType,
		protocols:          req.Protocols,
		isNew:              true,
	}
	if g.state == PreparingRebalance && g.prevState == Empty {
		g.newMemberAdded = true
	}
	g.add(m, w)
	// A new member cannot heartbeat while it waits in JoinGroup, and a
	// client that gave up may retry as yet another new member: its wait
	// is bounded separately.
	g.scheduleHeartbeatIn(m, g.cfg.NewMemberJoinTimeout)
	g.maybePrepareRebalanceOrCompleteJoin()
}

// replaceStaticMember is KIP-345's rejoin of a known group.instance.id under
// a new member id: the old id is fenced, the member keeps its assignment,
// and a Stable group whose chosen protocol does not change skips the
// rebalance (the change is written to the log first).
func (g *Group) replaceStaticMember(w Waiter, req JoinRequest, oldID, newID string) {
	currentLeader := g.leader
	old := g.members[oldID]
	// Fence the old member's parked requests at once.
	g.completeJoin(old, JoinResult{Err: ErrFencedInstanceID, MemberID: oldID})
	g.completeSync(old, SyncResult{Err: ErrFencedInstanceID})

	m := *old
	m.id = newID
	m.joinWaiter, m.syncWaiter = 0, 0
	g.members[newID] = &m
	delete(g.members, oldID)
	for i, id := range g.order {
		if id == oldID {
			g.order[i] = newID
		}
	}
	if g.leader == oldID {
		g.leader = newID
	}
	if g.pendingSync[oldID] {
		// Kafka keeps waiting for the old id, which never syncs, and
		// rebalances when that wait expires; the new id syncs instead.
		delete(g.pendingSync, oldID)
		g.pendingSync[newID] = true
	}
	g.static[*req.InstanceID] = newID
	g.scheduleHeartbeat(&m)

	oldProtocols, oldRebalance, oldSession := m.protocols, m.rebalanceTimeoutMs, m.sessionTimeoutMs
	g.updateMember(&m, req.Protocols, rebalanceTimeout(req), req.SessionTimeoutMs, w)

	switch g.state {
	case Stable:
		if g.protocol == g.selectProtocol() {
			g.write([]Record{groupMetadataRecord(g, g.assignments())}, pendingWrite{
				kind: writeStaticJoin, waiter: w, generation: g.generation,
				static: &staticJoin{
					instanceID: *req.InstanceID, oldID: oldID, newID: newID,
					oldProtocols: oldProtocols, oldRebalanceMs: oldRebalance, oldSessionMs: oldSession,
					currentLeader: currentLeader, skipAssignment: req.Version >= 9,
				},
			})
			return
		}
		g.maybePrepareRebalanceOrCompleteJoin()
	case CompletingRebalance:
		// The leader may already be assigning to the old id: start
		// over so the new id gets an assignment.
		g.prepareRebalance()
	}
	// PreparingRebalance: the member waits for the join phase like
	// everyone else.
}

// staticJoinWritten finishes replaceStaticMember once the group record is
// written: the member gets the current generation, or the replacement is
// undone.
func (g *Group) staticJoinWritten(w Waiter, s *staticJoin, err error) {
	m := g.members[s.newID]
	if m == nil || m.joinWaiter != w {
		return // a rebalance answered it meanwhile
	}
	if err != nil {
		g.updateMember(m, s.oldProtocols, s.oldRebalanceMs, s.oldSessionMs, 0)
		g.members[s.oldID] = m
		delete(g.members, s.newID)
		m.id = s.oldID
		for i, id := range g.order {
			if id == s.newID {
				g.order[i] = s.oldID
			}
		}
		if g.leader == s.newID {
			g.leader = s.oldID
		}
		if g.pendingSync[s.newID] {
			delete(g.pendingSync, s.newID)
			g.pendingSync[s.oldID] = true
		}
		g.static[s.instanceID] = s.oldID
		g.scheduleHeartbeat(m)
		g.reply(Reply{To: w, Join: &JoinResult{
			Err: err, Generation: g.generation, ProtocolType: optional(g.protocolType),
			Protocol: optional(g.protocol), Leader: s.currentLeader,
		}})
		return
	}
	isLeader := g.leader == m.id
	r := g.joinResult(m.id, false)
	if s.skipAssignment {
		// KIP-814: a static leader that rejoined gets the members but
		// must not assign anew.
		r.SkipAssignment = isLeader
		if isLeader {
			r.Members = g.joinMembers()
		}
	} else {
		// Before v9 the rejoined leader is told the old leader id, so
		// it does not assign with an empty member list.
		r.Leader = s.currentLeader
	}
	g.completeJoin(m, r)
}

// rebalanceTimeout is the request's rebalance timeout; JoinGroup v0 has
// none and uses the session timeout.
func rebalanceTimeout(req JoinRequest) int32 {
	if req.Version == 0 || req.RebalanceTimeoutMs <= 0 {
		return req.SessionTimeoutMs
	}
	return req.RebalanceTimeoutMs
}

// assignments are the members' current assignments.
func (g *Group) assignments() map[string][]byte {
	a := make(map[string][]byte, len(g.members))
	for id, m := range g.members {
		a[id] = m.assignment
	}
	return a
}

func ptr[T any](v T) *T { return &v }
