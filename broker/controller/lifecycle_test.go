package controller

import (
	"testing"
	"time"

	"github.com/ordo-broker/ordo/broker/metadata"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Unix(1_700_000_000, 0)

const sessionTimeout = 9 * time.Second

func apply(t *testing.T, im *metadata.Image, recs []metadata.Record) *metadata.Image {
	t.Helper()
	next, err := im.Apply(recs...)
	require.NoError(t, err)
	return next
}

// register registers node and brings it to unfenced: it registers,
// the registration commits at offset, and a caught-up heartbeat unfences.
func register(t *testing.T, l *Lifecycle, im *metadata.Image, node int32, now time.Time, offset uint64) (*metadata.Image, int64) {
	t.Helper()
	recs, epoch, err := l.Register(now, im, Registration{NodeID: node, ClusterID: "c", Incarnation: "inc-" + string(rune('a'+node)), Host: "127.0.0.1", Port: 9092 + node})
	require.NoError(t, err)
	im = apply(t, im, recs)
	require.True(t, im.Brokers[node].Fenced, "a new registration starts fenced")
	l.Registered(node, epoch, offset)
	recs, res, err := l.Heartbeat(now, im, Heartbeat{NodeID: node, Epoch: epoch, MetadataOffset: offset})
	require.NoError(t, err)
	require.True(t, res.CaughtUp)
	require.False(t, res.Fenced)
	return apply(t, im, recs), epoch
}

func topic(t *testing.T, im *metadata.Image, name string, parts ...[]int32) *metadata.Image {
	t.Helper()
	id := metadata.NewTopicID()
	recs := []metadata.Record{{Topic: &metadata.TopicRecord{Name: name, TopicID: id}}}
	for i, r := range parts {
		recs = append(recs, metadata.Record{Partition: &metadata.PartitionRecord{TopicID: id, Partition: int32(i), Replicas: r, ISR: r, Leader: r[0]}})
	}
	return apply(t, im, recs)
}

func TestRegistrationGivesIncreasingEpochsAndStartsFenced(t *testing.T) {
	l := NewLifecycle(sessionTimeout)
	im := metadata.NewImage("c")
	im, e1 := register(t, l, im, 1, t0, 10)
	im, e2 := register(t, l, im, 2, t0, 11)
	assert.Greater(t, e2, e1)
	assert.Equal(t, []int32{1, 2}, im.UnfencedBrokerIDs())
}

// A broker is unfenced only once it has applied the metadata log as far as
// its own registration.
func TestUnfencedOnlyOnceCaughtUp(t *testing.T) {
	l := NewLifecycle(sessionTimeout)
	im := metadata.NewImage("c")
	recs, epoch, err := l.Register(t0, im, Registration{NodeID: 1, ClusterID: "c", Incarnation: "x", Host: "h", Port: 1})
	require.NoError(t, err)
	im = apply(t, im, recs)
	l.Registered(1, epoch, 50)

	recs, res, err := l.Heartbeat(t0, im, Heartbeat{NodeID: 1, Epoch: epoch, MetadataOffset: 49})
	require.NoError(t, err)
	assert.Empty(t, recs)
	assert.Equal(t, HeartbeatResult{CaughtUp: false, Fenced: true}, res)

	recs, res, err = l.Heartbeat(t0, im, Heartbeat{NodeID: 1, Epoch: epoch, MetadataOffset: 50})
	require.NoError(t, err)
	assert.Equal(t, HeartbeatResult{CaughtUp: true, Fenced: false}, res)
	im = apply(t, im, recs)
	assert.False(t, im.Brokers[1].Fenced)
}

func TestHeartbeatErrors(t *testing.T) {
	l := NewLifecycle(sessionTimeout)
	im, epoch := register(t, l, metadata.NewImage("c"), 1, t0, 1)
	_, _, err := l.Heartbeat(t0, im, Heartbeat{NodeID: 2, Epoch: epoch})
	assert.ErrorIs(t, err, ErrBrokerNotRegistered)
	_, _, err = l.Heartbeat(t0, im, Heartbeat{NodeID: 1, Epoch: epoch - 1})
	assert.ErrorIs(t, err, ErrStaleBrokerEpoch)
	_, _, err = l.Register(t0, im, Registration{NodeID: 3, ClusterID: "other"})
	assert.ErrorIs(t, err, ErrInconsistentClusterID)
}

// A second process with a live broker's node id is refused; the same
// process registering again changes nothing; a new process after the old
// one's session expired replaces it.
func TestDuplicateRegistration(t *testing.T) {
	l := NewLifecycle(sessionTimeout)
	im, epoch := register(t, l, metadata.NewImage("c"), 1, t0, 1)
	_, _, err := l.Register(t0.Add(time.Second), im, Registration{NodeID: 1, ClusterID: "c", Incarnation: "someone-else", Host: "h", Port: 1})
	assert.ErrorIs(t, err, ErrDuplicateBrokerRegistration)

	b := im.Brokers[1]
	recs, again, err := l.Register(t0, im, Registration{NodeID: 1, ClusterID: "c", Incarnation: b.Incarnation, Host: b.Host, Port: b.Port})
	require.NoError(t, err)
	assert.Empty(t, recs)
	assert.Equal(t, epoch, again)

	recs, next, err := l.Register(t0.Add(sessionTimeout), im, Registration{NodeID: 1, ClusterID: "c", Incarnation: "restarted", Host: "h", Port: 1})
	require.NoError(t, err)
	assert.Greater(t, next, epoch)
	im = apply(t, im, recs)
	assert.True(t, im.Brokers[1].Fenced)
}

// broker.session.timeout.ms: a broker whose heartbeats stop is fenced, and
// its leaderships move to in-sync replicas that are not fenced; a partition
// with no such replica is left without a leader (no unclean election), and
// the fenced broker leaves every ISR where it is not the last member.
func TestSessionExpiryFencesAndMovesLeaders(t *testing.T) {
	l := NewLifecycle(sessionTimeout)
	im := metadata.NewImage("c")
	im, _ = register(t, l, im, 1, t0, 1)
	im, _ = register(t, l, im, 2, t0, 2)
	im, _ = register(t, l, im, 3, t0, 3)
	im = topic(t, im, "t", []int32{1, 2, 3}, []int32{2, 1, 3}, []int32{1})

	at, ok := l.NextDeadline(im)
	require.True(t, ok)
	assert.Equal(t, t0.Add(sessionTimeout), at)
	// 2 and 3 keep heartbeating; 1 goes silent.
	later := t0.Add(sessionTimeout - time.Second)
	for _, id := range []int32{2, 3} {
		_, _, err := l.Heartbeat(later, im, Heartbeat{NodeID: id, Epoch: im.Brokers[id].Epoch, MetadataOffset: 10})
		require.NoError(t, err)
	}
	assert.Empty(t, l.Tick(t0.Add(sessionTimeout-time.Millisecond), im))
	recs := l.Tick(t0.Add(sessionTimeout), im)
	require.NotEmpty(t, recs)
	im = apply(t, im, recs)

	assert.True(t, im.Brokers[1].Fenced)
	assert.Equal(t, []int32{2, 3}, im.UnfencedBrokerIDs())
	p := im.Topics["t"].Partitions
	assert.Equal(t, int32(2), p[0].Leader, "the next in-sync replica in replica order")
	assert.Equal(t, []int32{2, 3}, p[0].ISR)
	assert.Equal(t, int32(1), p[0].LeaderEpoch, "a new leader bumps the leader epoch")
	assert.Equal(t, int32(2), p[1].Leader, "not led by 1: same leader")
	assert.Equal(t, int32(0), p[1].LeaderEpoch)
	assert.Equal(t, []int32{2, 3}, p[1].ISR, "1 leaves the ISR")
	assert.Equal(t, int32(-1), p[2].Leader, "no other replica: no leader")
	assert.Equal(t, []int32{1}, p[2].ISR, "the last ISR member stays")

	_, ok = l.NextDeadline(im)
	require.True(t, ok, "2 and 3 still have sessions")
}

// An unfenced broker takes back the leaderless partitions whose ISR it is
// in.
func TestUnfencingLeadsLeaderlessPartitionsAgain(t *testing.T) {
	l := NewLifecycle(sessionTimeout)
	im := metadata.NewImage("c")
	im, _ = register(t, l, im, 1, t0, 1)
	im = topic(t, im, "t", []int32{1})
	im = apply(t, im, l.Tick(t0.Add(sessionTimeout), im))
	require.Equal(t, int32(-1), im.Topics["t"].Partitions[0].Leader)

	// The broker restarts: a new registration, caught up, unfenced.
	now := t0.Add(2 * sessionTimeout)
	recs, epoch, err := l.Register(now, im, Registration{NodeID: 1, ClusterID: "c", Incarnation: "second", Host: "h", Port: 1})
	require.NoError(t, err)
	im = apply(t, im, recs)
	l.Registered(1, epoch, 20)
	recs, res, err := l.Heartbeat(now, im, Heartbeat{NodeID: 1, Epoch: epoch, MetadataOffset: 20})
	require.NoError(t, err)
	require.False(t, res.Fenced)
	im = apply(t, im, recs)
	p := im.Topics["t"].Partitions[0]
	assert.Equal(t, int32(1), p.Leader)
	assert.Equal(t, int32(2), p.LeaderEpoch, "-1 and back: two leader changes")
}

// A controller that just became active gives every broker a full session.
func TestActivateStartsEverySessionAfresh(t *testing.T) {
	l := NewLifecycle(sessionTimeout)
	im, _ := register(t, l, metadata.NewImage("c"), 1, t0, 1)
	fresh := NewLifecycle(sessionTimeout)
	later := t0.Add(time.Hour)
	fresh.Activate(later, im)
	assert.Empty(t, fresh.Tick(later.Add(sessionTimeout-time.Millisecond), im))
	assert.NotEmpty(t, fresh.Tick(later.Add(sessionTimeout), im))
}

// A broker asking to be fenced (controlled shutdown) is fenced at once.
func TestWantShutDownFences(t *testing.T) {
	l := NewLifecycle(sessionTimeout)
	im, epoch := register(t, l, metadata.NewImage("c"), 1, t0, 1)
	recs, res, err := l.Heartbeat(t0, im, Heartbeat{NodeID: 1, Epoch: epoch, MetadataOffset: 5, WantShutDown: true})
	require.NoError(t, err)
	assert.True(t, res.ShouldShutDown)
	assert.True(t, res.Fenced)
	im = apply(t, im, recs)
	assert.True(t, im.Brokers[1].Fenced)
}
