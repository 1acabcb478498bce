package group

import (
	"slices"
	"strings"
)

// The coordinator's requests, one method per API. Each finds the group's
// shard (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS), locks the group,
// runs the state machine and does what it asks. Requests that may wait
// (JoinGroup, SyncGroup, and anything that writes) return a Pending, so
// that the handler registers the request in arrival order and waits for
// the answer without blocking the connection's reader.

// Join handles JoinGroup.
func (c *Coordinator) Join(req JoinRequest) *Pending {
	if req.Group == "" {
		return done(Reply{Err: ErrInvalidGroupID})
	}
	if !c.cfg.Group.ValidSessionTimeout(req.SessionTimeoutMs) {
		return done(Reply{Join: &JoinResult{Err: ErrInvalidSessionTimeout, MemberID: req.MemberID}})
	}
	sh, err := c.shardFor(req.Group)
	if err != nil {
		return done(Reply{Err: err})
	}
	// Only a member without an id creates the group; an id the group
	// does not know is refused, as Kafka does.
	e, err := sh.entry(req.Group, req.MemberID == "")
	switch {
	case err != nil:
		return done(Reply{Err: err})
	case e == nil:
		return done(Reply{Join: &JoinResult{Err: ErrUnknownMemberID, MemberID: req.MemberID}})
	}
	defer e.mu.Unlock()
	p := e.park()
	e.apply(e.g.Join(c.now(), p.w, req, newMemberID(req.ClientID, req.InstanceID)))
	e.arm()
	return p
}

// Sync handles SyncGroup.
func (c *Coordinator) Sync(req SyncRequest) *Pending {
	e, r := c.existing(req.Group)
	if e == nil {
		if r.Err == nil {
			r = Reply{Sync: &SyncResult{Err: ErrUnknownMemberID}}
		}
		return done(r)
	}
	defer e.mu.Unlock()
	p := e.park()
	e.apply(e.g.Sync(c.now(), p.w, req))
	e.arm()
	return p
}

// Heartbeat handles Heartbeat.
func (c *Coordinator) Heartbeat(req HeartbeatRequest) error {
	e, r := c.existing(req.Group)
	if e == nil {
		if r.Err == nil {
			return ErrUnknownMemberID
		}
		return r.Err
	}
	defer e.mu.Unlock()
	out, err := e.g.Heartbeat(c.now(), req)
	e.apply(out)
	e.arm()
	return err
}

// Leave handles LeaveGroup.
func (c *Coordinator) Leave(group string, members []LeaveMember) ([]LeaveResult, error) {
	e, r := c.existing(group)
	if e == nil {
		if r.Err == nil {
			r.Err = ErrUnknownMemberID
		}
		return nil, r.Err
	}
	defer e.mu.Unlock()
	out, results, err := e.g.Leave(c.now(), members)
	e.apply(out)
	e.arm()
	return results, err
}

// CommitOffsets handles OffsetCommit for partitions that exist. A
// generation -1 commit to a group that does not exist creates it (a
// "simple" group, Empty); any other goes to a group that must exist:
// GROUP_ID_NOT_FOUND from v9, ILLEGAL_GENERATION before, as Kafka.
func (c *Coordinator) CommitOffsets(req CommitRequest, version int16) *Pending {
	if req.Group == "" {
		return done(Reply{Err: ErrInvalidGroupID})
	}
	sh, err := c.shardFor(req.Group)
	if err != nil {
		return done(Reply{Err: err})
	}
	e, err := sh.entry(req.Group, req.Generation < 0)
	switch {
	case err != nil:
		return done(Reply{Err: err})
	case e == nil && version >= 9:
		return done(Reply{Err: ErrGroupIDNotFound})
	case e == nil:
		return done(Reply{Err: ErrIllegalGeneration})
	}
	defer e.mu.Unlock()
	p := e.park()
	e.apply(e.g.CommitOffsets(c.now(), p.w, req))
	e.arm()
	return p
}

// FetchOffsets returns the group's committed offsets of the given
// partitions (every committed offset when tps is nil). A group that does not
// exist has none.
func (c *Coordinator) FetchOffsets(group string, tps []TopicPartition) ([]CommittedOffset, error) {
	e, r := c.existing(group)
	if e == nil {
		return nil, r.Err
	}
	defer e.mu.Unlock()
	if tps == nil {
		return e.g.Offsets(), nil
	}
	var out []CommittedOffset
	for _, tp := range tps {
		if o, ok := e.g.Offset(tp); ok {
			out = append(out, CommittedOffset{tp, o})
		}
	}
	return out, nil
}

// Describe handles DescribeGroups for one group; a group that does not
// exist is Dead, as Kafka describes it.
func (c *Coordinator) Describe(group string) (Description, error) {
	e, r := c.existing(group)
	if e == nil {
		return Description{State: Dead}, r.Err
	}
	defer e.mu.Unlock()
	return e.g.Describe(), nil
}

// Listing is one group in ListGroups.
type Listing struct {
	Group        string
	ProtocolType string
	State        State
}

// List handles ListGroups: every group this broker coordinates, in the
// given states (all when states is empty). err is set when a partition is
// still loading (COORDINATOR_LOAD_IN_PROGRESS); the groups of the others
// are listed anyway.
func (c *Coordinator) List(states []State) ([]Listing, error) {
	c.mu.Lock()
	shards := make([]*shard, 0, len(c.shards))
	for _, sh := range c.shards {
		shards = append(shards, sh)
	}
	c.mu.Unlock()
	var out []Listing
	var firstErr error
	for _, sh := range shards {
		err := sh.each(func(e *entry) {
			if len(states) == 0 || slices.Contains(states, e.g.State()) {
				out = append(out, Listing{e.g.ID(), e.g.ProtocolType(), e.g.State()})
			}
		})
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	slices.SortFunc(out, func(a, b Listing) int { return strings.Compare(a.Group, b.Group) })
	return out, firstErr
}

// DeleteGroup handles DeleteGroups for one group.
func (c *Coordinator) DeleteGroup(group string) *Pending {
	if group == "" {
		return done(Reply{Err: ErrInvalidGroupID})
	}
	sh, err := c.shardFor(group)
	if err != nil {
		return done(Reply{Err: err})
	}
	// Lock the shard, then the group (the lock order), so the group
	// leaves the shard in the same step it becomes Dead.
	sh.mu.Lock()
	switch sh.state {
	case shardLoading:
		sh.mu.Unlock()
		return done(Reply{Err: ErrCoordinatorLoadInProgress})
	case shardUnloaded:
		sh.mu.Unlock()
		return done(Reply{Err: ErrNotCoordinator})
	}
	e := sh.groups[group]
	if e == nil {
		sh.mu.Unlock()
		return done(Reply{Err: ErrGroupIDNotFound})
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.park()
	out := e.g.Delete(c.now(), p.w)
	if e.g.State() == Dead {
		delete(sh.groups, group)
	}
	sh.mu.Unlock()
	e.apply(out)
	e.arm()
	return p
}

// DeleteOffsets handles OffsetDelete.
func (c *Coordinator) DeleteOffsets(group string, tps []TopicPartition) *Pending {
	e, r := c.existing(group)
	if e == nil {
		if r.Err == nil {
			r.Err = ErrGroupIDNotFound
		}
		return done(r)
	}
	defer e.mu.Unlock()
	p := e.park()
	e.apply(e.g.DeleteOffsets(c.now(), p.w, tps))
	e.arm()
	return p
}

// existing finds a group that exists, locked; otherwise a Reply with the
// coordinator's error, or no error when the group simply does not exist.
func (c *Coordinator) existing(group string) (*entry, Reply) {
	if group == "" {
		return nil, Reply{Err: ErrInvalidGroupID}
	}
	sh, err := c.shardFor(group)
	if err != nil {
		return nil, Reply{Err: err}
	}
	e, err := sh.entry(group, false)
	if err != nil {
		return nil, Reply{Err: err}
	}
	return e, Reply{}
}
