package group

import (
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Loader rebuilds groups from the records of a __consumer_offsets
// partition, read in offset order.
type Loader struct {
	cfg    Config
	groups map[string]*Group
}

// NewLoader returns a loader whose groups use cfg.
func NewLoader(cfg Config) *Loader { return &Loader{cfg: cfg, groups: map[string]*Group{}} }

// Replay applies the record at offset. A group metadata record replaces the
// group's membership; its tombstone removes the group; offset records set
// or remove one offset, creating the (Empty) group if needed, as offsets
// committed with generation -1 exist without a group record.
func (l *Loader) Replay(offset int64, key, value []byte) error {
	rec, err := DecodeRecord(key, value)
	if err != nil {
		return err
	}
	switch {
	case rec.Offset != nil:
		k := rec.Offset.Key
		tp := TopicPartition{k.Topic, k.Partition}
		g := l.group(k.Group)
		if rec.Offset.Value == nil {
			delete(g.offsets, tp)
			return nil
		}
		v := rec.Offset.Value
		epoch := v.LeaderEpoch
		if v.Version < 3 {
			epoch = -1
		}
		g.offsets[tp] = Offset{Offset: v.Offset, LeaderEpoch: epoch, Metadata: v.Metadata, CommitTimestamp: v.CommitTimestamp, record: offset}
	case rec.Group != nil:
		id := rec.Group.Key.Group
		if rec.Group.Value == nil {
			delete(l.groups, id)
			return nil
		}
		l.group(id).restore(rec.Group.Value)
	}
	return nil
}

func (l *Loader) group(id string) *Group {
	g := l.groups[id]
	if g == nil {
		g = New(id, l.cfg, unixMilli(-1))
		l.groups[id] = g
	}
	return g
}

// Groups are the loaded groups, by id.
func (l *Loader) Groups() map[string]*Group { return l.groups }

// restore replaces the group's membership with a group record's (Kafka's
// ClassicGroup.fromRecord): Stable with its members, or Empty.
func (g *Group) restore(v *kmsg.GroupMetadataValue) {
	offsets := g.offsets
	*g = *New(g.id, g.cfg, unixMilli(v.CurrentStateTimestamp))
	g.offsets = offsets
	g.generation = v.Generation
	g.protocolType = v.ProtocolType
	if v.Protocol != nil {
		g.protocol = *v.Protocol
	}
	for _, vm := range v.Members {
		m := &member{
			id:                 vm.MemberID,
			instanceID:         vm.InstanceID,
			clientID:           vm.ClientID,
			clientHost:         vm.ClientHost,
			rebalanceTimeoutMs: vm.RebalanceTimeoutMillis,
			sessionTimeoutMs:   vm.SessionTimeoutMillis,
			protocolType:       v.ProtocolType,
			protocols:          []Protocol{{Name: g.protocol, Metadata: slices.Clone(vm.Subscription)}},
			assignment:         slices.Clone(vm.Assignment),
		}
		if v.Version < 1 {
			m.rebalanceTimeoutMs = m.sessionTimeoutMs
		}
		g.add(m, 0)
	}
	if v.Leader != nil && g.members[*v.Leader] != nil {
		g.leader = *v.Leader
	}
	if len(g.members) > 0 {
		g.state, g.prevState = Stable, Stable
	}
	g.subscribed = g.computeSubscribed()
}

// Loaded starts the sessions of a loaded group's members: they must
// heartbeat (or rejoin) within their session timeout from now.
func (g *Group) Loaded(now time.Time) {
	g.begin(now)
	for _, id := range g.order {
		g.scheduleHeartbeat(g.members[id])
	}
}

// unixMilli is a record's timestamp as a time; -1 (unknown) is the zero
// time.
func unixMilli(ms int64) time.Time {
	if ms < 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}
