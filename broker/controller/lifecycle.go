package controller

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ordo-broker/ordo/broker/metadata"
)

// The broker lifecycle of KIP-631, as the active controller decides it:
// brokers register (BrokerRegistration) and get a broker epoch, start
// fenced, are unfenced once a heartbeat (BrokerHeartbeat) shows they have
// caught up with the metadata log, and are fenced again when their
// heartbeats stop for broker.session.timeout.ms. A fenced broker leads no
// partition: fencing moves each of its leaderships to another in-sync
// replica that is not fenced, or leaves the partition without a leader
// (unclean election is off); unfencing gives a leaderless partition back
// to it when it is in the ISR.
//
// Lifecycle is pure: time is an argument, the image is an argument, and
// the outputs are the records to commit. Sessions (the time of each
// broker's last heartbeat) are the active controller's own, never in the
// log: a newly active controller starts every session afresh (Activate),
// as KRaft's BrokerHeartbeatManager does.

// Errors of the broker lifecycle (KIP-631's error codes).
var (
	ErrStaleBrokerEpoch            = errors.New("the broker epoch is not the broker's current registration")
	ErrBrokerNotRegistered         = errors.New("the broker is not registered")
	ErrDuplicateBrokerRegistration = errors.New("another process with this node id is registered and alive")
	ErrInconsistentClusterID       = errors.New("the broker belongs to another cluster")
)

// Registration is a BrokerRegistration request.
type Registration struct {
	NodeID      int32
	ClusterID   string
	Incarnation string
	Host        string
	Port        int32
	Rack        string
}

// Heartbeat is a BrokerHeartbeat request.
type Heartbeat struct {
	NodeID int32
	Epoch  int64
	// MetadataOffset is the offset of the last metadata entry the broker
	// applied.
	MetadataOffset uint64
	WantFence      bool
	WantShutDown   bool
}

// HeartbeatResult is what a BrokerHeartbeat response says.
type HeartbeatResult struct {
	CaughtUp       bool
	Fenced         bool
	ShouldShutDown bool
}

// Lifecycle is the active controller's view of broker liveness.
type Lifecycle struct {
	sessionTimeout time.Duration
	sessions       map[int32]*session
}

type session struct {
	epoch       int64
	lastContact time.Time
	// registeredAt is the metadata offset at which the broker's
	// registration was committed (0 until the controller learns it): a
	// broker is caught up once it has applied that far.
	registeredAt uint64
}

// NewLifecycle returns a lifecycle with broker.session.timeout.ms.
func NewLifecycle(sessionTimeout time.Duration) *Lifecycle {
	return &Lifecycle{sessionTimeout: sessionTimeout, sessions: map[int32]*session{}}
}

// Activate starts every registered broker's session at now: a controller
// that just became active has heard from nobody yet, and must give each
// broker a full session before fencing it.
func (l *Lifecycle) Activate(now time.Time, im *metadata.Image) {
	clear(l.sessions)
	for id, b := range im.Brokers {
		l.sessions[id] = &session{epoch: b.Epoch, lastContact: now}
	}
}

// Register decides a registration: the records to commit and the broker
// epoch they give the broker. A registration by the same process
// (incarnation) as the current one changes nothing; one by another process
// while the registered one is alive is ErrDuplicateBrokerRegistration. A
// new registration starts fenced, and the partitions the broker led under
// its old registration move to other in-sync replicas.
func (l *Lifecycle) Register(now time.Time, im *metadata.Image, r Registration) ([]metadata.Record, int64, error) {
	if r.ClusterID != "" && r.ClusterID != im.ClusterID {
		return nil, 0, fmt.Errorf("%w: %q, this cluster is %q", ErrInconsistentClusterID, r.ClusterID, im.ClusterID)
	}
	old, registered := im.Brokers[r.NodeID]
	if registered && old.Incarnation == r.Incarnation && r.Incarnation != "" &&
		old.Host == r.Host && old.Port == r.Port && old.Rack == r.Rack {
		l.touch(now, r.NodeID, old.Epoch)
		return nil, old.Epoch, nil
	}
	if registered && !old.Fenced && l.alive(now, r.NodeID) && old.Incarnation != r.Incarnation {
		return nil, 0, fmt.Errorf("%w: node %d", ErrDuplicateBrokerRegistration, r.NodeID)
	}
	epoch := int64(1)
	for _, b := range im.Brokers {
		epoch = max(epoch, b.Epoch+1)
	}
	recs := []metadata.Record{{Broker: &metadata.BrokerRecord{
		NodeID: r.NodeID, Host: r.Host, Port: r.Port, Rack: r.Rack,
		Epoch: epoch, Incarnation: r.Incarnation, Fenced: true,
	}}}
	if registered {
		recs = append(recs, electLeaders(im, map[int32]bool{r.NodeID: true}, -1)...)
	}
	l.sessions[r.NodeID] = &session{epoch: epoch, lastContact: now}
	return recs, epoch, nil
}

// Registered tells the lifecycle the metadata offset at which a
// registration was committed.
func (l *Lifecycle) Registered(node int32, epoch int64, offset uint64) {
	if s := l.sessions[node]; s != nil && s.epoch == epoch {
		s.registeredAt = offset
	}
}

// Heartbeat decides a heartbeat: the records to commit (an unfencing, a
// fencing the broker asked for) and the answer.
func (l *Lifecycle) Heartbeat(now time.Time, im *metadata.Image, hb Heartbeat) ([]metadata.Record, HeartbeatResult, error) {
	b, ok := im.Brokers[hb.NodeID]
	if !ok {
		return nil, HeartbeatResult{}, fmt.Errorf("%w: node %d", ErrBrokerNotRegistered, hb.NodeID)
	}
	if hb.Epoch != b.Epoch {
		return nil, HeartbeatResult{}, fmt.Errorf("%w: node %d epoch %d, registered %d", ErrStaleBrokerEpoch, hb.NodeID, hb.Epoch, b.Epoch)
	}
	s := l.touch(now, hb.NodeID, b.Epoch)
	res := HeartbeatResult{
		CaughtUp:       s.registeredAt > 0 && hb.MetadataOffset >= s.registeredAt,
		Fenced:         b.Fenced,
		ShouldShutDown: hb.WantShutDown,
	}
	var recs []metadata.Record
	switch {
	case b.Fenced && !hb.WantFence && !hb.WantShutDown && res.CaughtUp:
		recs = append(recs, metadata.Record{UnfenceBroker: &metadata.UnfenceBrokerRecord{NodeID: b.NodeID, Epoch: b.Epoch}})
		recs = append(recs, electLeaders(im, nil, b.NodeID)...)
		res.Fenced = false
	case !b.Fenced && (hb.WantFence || hb.WantShutDown):
		recs = l.fence(im, []int32{b.NodeID})
		res.Fenced = true
	}
	return recs, res, nil
}

// Tick fences the unfenced brokers whose session expired at now.
func (l *Lifecycle) Tick(now time.Time, im *metadata.Image) []metadata.Record {
	var expired []int32
	for _, id := range im.UnfencedBrokerIDs() {
		if !l.alive(now, id) {
			expired = append(expired, id)
		}
	}
	if len(expired) == 0 {
		return nil
	}
	return l.fence(im, expired)
}

// NextDeadline is the earliest session expiry of an unfenced broker.
func (l *Lifecycle) NextDeadline(im *metadata.Image) (time.Time, bool) {
	var at time.Time
	for _, id := range im.UnfencedBrokerIDs() {
		s := l.sessions[id]
		if s == nil {
			continue
		}
		if exp := s.lastContact.Add(l.sessionTimeout); at.IsZero() || exp.Before(at) {
			at = exp
		}
	}
	return at, !at.IsZero()
}

func (l *Lifecycle) touch(now time.Time, node int32, epoch int64) *session {
	s := l.sessions[node]
	if s == nil || s.epoch != epoch {
		s = &session{epoch: epoch}
		l.sessions[node] = s
	}
	s.lastContact = now
	return s
}

// alive tells whether node's session has not expired at now. A broker the
// controller has no session for (it became active without Activate) counts
// as alive: it is given one by its next heartbeat or by Activate.
func (l *Lifecycle) alive(now time.Time, node int32) bool {
	s := l.sessions[node]
	return s == nil || now.Before(s.lastContact.Add(l.sessionTimeout))
}

// fence fences nodes and moves their leaderships.
func (l *Lifecycle) fence(im *metadata.Image, nodes []int32) []metadata.Record {
	gone := map[int32]bool{}
	var recs []metadata.Record
	for _, id := range nodes {
		gone[id] = true
		recs = append(recs, metadata.Record{FenceBroker: &metadata.FenceBrokerRecord{NodeID: id, Epoch: im.Brokers[id].Epoch}})
	}
	return append(recs, electLeaders(im, gone, -1)...)
}

// electLeaders is the controller's leader and ISR change after fencing or
// unfencing brokers, as KRaft's ReplicationControlManager makes it:
//   - a broker in gone leaves the ISR of every partition, unless it is
//     the last member (the ISR then keeps naming who has every committed
//     record, and the partition waits for it: unclean election is off);
//   - a partition led by a broker in gone gets as its leader the first
//     replica, in replica order, that stays in the ISR and is not fenced,
//     or none (-1);
//   - a leaderless partition whose ISR holds back (a broker being
//     unfenced; -1 for none) gets it as its leader.
//
// A new leader bumps the leader epoch (KIP-101, KIP-320); every change
// bumps the partition epoch.
func electLeaders(im *metadata.Image, gone map[int32]bool, back int32) []metadata.Record {
	usable := func(b int32) bool {
		if gone[b] {
			return false
		}
		if b == back {
			return true
		}
		br, ok := im.Brokers[b]
		return ok && !br.Fenced
	}
	var recs []metadata.Record
	for _, name := range im.TopicNames() {
		for _, p := range im.Topics[name].Partitions {
			isr := slices.DeleteFunc(slices.Clone(p.ISR), func(b int32) bool { return gone[b] })
			if len(isr) == 0 {
				isr = slices.Clone(p.ISR)
			}
			leader := p.Leader
			switch {
			case p.Leader >= 0 && gone[p.Leader]:
				leader = -1
				for _, r := range p.Replicas {
					if slices.Contains(isr, r) && usable(r) {
						leader = r
						break
					}
				}
			case p.Leader < 0 && back >= 0 && slices.Contains(isr, back):
				leader = back
			}
			if leader == p.Leader && slices.Equal(isr, p.ISR) {
				continue
			}
			next := p
			next.Replicas, next.ISR = slices.Clone(p.Replicas), isr
			if leader != p.Leader {
				next.Leader = leader
				next.LeaderEpoch++
			}
			next.PartitionEpoch++
			recs = append(recs, metadata.Record{Partition: &next})
		}
	}
	return recs
}
