package quorum

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/ordo-broker/ordo/broker/metadata"
	"github.com/ordo-broker/ordo/broker/network"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// disk is one node's Raft state kept by the test across restarts.
type disk struct {
	store *raft.InmemStore
	snaps *raft.InmemSnapshotStore
}

func newDisk() *disk { return &disk{store: raft.NewInmemStore(), snaps: raft.NewInmemSnapshotStore()} }

type testCluster struct {
	t      *testing.T
	net    *network.Mem
	voters []Voter
	disks  map[int32]*disk
	nodes  map[int32]*Quorum
}

func quiet() *slog.Logger {
	if os.Getenv("ORDO_TEST_LOG") == "1" {
		return slog.Default()
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func newTestCluster(t *testing.T, n int) *testCluster {
	c := &testCluster{t: t, net: network.NewMem(), disks: map[int32]*disk{}, nodes: map[int32]*Quorum{}}
	for i := 1; i <= n; i++ {
		c.voters = append(c.voters, Voter{ID: int32(i), Addr: fmt.Sprintf("10.0.0.%d:9093", i)})
	}
	for _, v := range c.voters {
		c.start(v.ID)
	}
	t.Cleanup(func() {
		for _, q := range c.nodes {
			_ = q.Close()
		}
	})
	return c
}

func (c *testCluster) start(id int32) *Quorum {
	c.t.Helper()
	d := c.disks[id]
	if d == nil {
		d = newDisk()
		c.disks[id] = d
	}
	addr := fmt.Sprintf("10.0.0.%d:9093", id)
	q, err := Open(Config{
		NodeID: id, Addr: addr, Voters: c.voters, ClusterID: "test-cluster",
		Network: c.net.Node(id), LogStore: d.store, StableStore: d.store, SnapshotStore: d.snaps,
		HeartbeatTimeout: 50 * time.Millisecond, ElectionTimeout: 50 * time.Millisecond,
		LeaderLeaseTimeout: 50 * time.Millisecond, Logger: quiet(),
	})
	require.NoError(c.t, err)
	c.nodes[id] = q
	return q
}

func (c *testCluster) stop(id int32) {
	require.NoError(c.t, c.nodes[id].Close())
	delete(c.nodes, id)
}

// controller waits for an active controller among the running nodes that
// all of them (but skip) agree on.
func (c *testCluster) controller(skip ...int32) *Quorum {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for id, q := range c.nodes {
			if contains(skip, id) || !q.IsController() {
				continue
			}
			return q
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.t.Fatal("no active controller")
	return nil
}

// propose commits recs through whichever node is the active controller,
// retrying while leadership moves (a controller elected a moment ago may
// lose a contested election), as an admin client retries its request.
// It returns the node that committed it.
func (c *testCluster) propose(recs []metadata.Record, skip ...int32) *Quorum {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		q := c.controller(skip...)
		short, cancel := context.WithTimeout(context.Background(), time.Second)
		err := q.Propose(short, recs)
		cancel()
		if err == nil {
			return q
		}
		require.True(c.t, isRetriable(err), "%v", err)
		require.True(c.t, time.Now().Before(deadline), "no controller committed the change: %v", err)
	}
}

func contains(ids []int32, id int32) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// converged waits until node's image has topic.
func waitForTopic(t *testing.T, q *Quorum, topic string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if im, _ := q.Image(); im.Topics[topic] != nil {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("topic %q never reached node %d", topic, q.cfg.NodeID)
}

func createTopic(name string) []metadata.Record {
	id := metadata.NewTopicID()
	return []metadata.Record{
		{Topic: &metadata.TopicRecord{Name: name, TopicID: id}},
		{Partition: &metadata.PartitionRecord{TopicID: id, Partition: 0, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1}},
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestSingleVoterCommitsAtOnce(t *testing.T) {
	c := newTestCluster(t, 1)
	q := c.controller()
	require.NoError(t, q.Propose(ctx(t), createTopic("a")))
	im, idx := q.Image()
	require.Contains(t, im.Topics, "a")
	assert.Positive(t, idx)
	id, ok := q.Controller()
	require.True(t, ok)
	assert.Equal(t, int32(1), id)
}

func TestEveryVoterAppliesTheSameChanges(t *testing.T) {
	c := newTestCluster(t, 3)
	var seen []string
	follower := c.nodes[1]
	follower.Subscribe(func(prev, next *metadata.Image) {
		if prev == nil {
			return
		}
		for _, n := range next.TopicNames() {
			if prev.Topics[n] == nil {
				seen = append(seen, n)
			}
		}
	})
	for _, name := range []string{"a", "b", "c"} {
		c.propose(createTopic(name))
	}
	for _, q := range c.nodes {
		waitForTopic(t, q, "c")
		im, _ := q.Image()
		assert.Equal(t, []string{"a", "b", "c"}, im.TopicNames())
	}
	waitForTopic(t, follower, "c")
	assert.Equal(t, []string{"a", "b", "c"}, seen, "listeners see each change once, in log order")
}

// A change that does not fit the image is refused on every node alike.
func TestAChangeThatDoesNotFitIsRefusedWhole(t *testing.T) {
	c := newTestCluster(t, 1)
	q := c.controller()
	require.NoError(t, q.Propose(ctx(t), createTopic("a")))
	bad := append(createTopic("b"), createTopic("a")...) // "a" exists
	require.Error(t, q.Propose(ctx(t), bad))
	im, _ := q.Image()
	assert.NotContains(t, im.Topics, "b", "nothing of a refused change is applied")
}

func TestOnlyTheControllerProposes(t *testing.T) {
	c := newTestCluster(t, 3)
	leader := c.controller()
	for id, q := range c.nodes {
		if q == leader {
			continue
		}
		err := q.Propose(ctx(t), createTopic("x"))
		if q.IsController() {
			continue // leadership moved here meanwhile
		}
		require.ErrorIs(t, err, ErrNotController, "node %d", id)
	}
}

// The active controller cut off from the others loses the quorum: a new
// one is elected among the majority, takes changes, and the old one
// catches up once healed. What was committed before is kept.
func TestControllerFailOverOnPartition(t *testing.T) {
	c := newTestCluster(t, 3)
	old := c.propose(createTopic("before"))
	oldID := old.cfg.NodeID

	c.net.Isolate(oldID)
	short, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err := old.Propose(short, createTopic("lost"))
	require.Error(t, err, "a controller without a majority commits nothing")

	next := c.propose(createTopic("after"), oldID)
	require.NotEqual(t, oldID, next.cfg.NodeID)

	c.net.HealAll()
	waitForTopic(t, old, "after")
	im, _ := old.Image()
	assert.Contains(t, im.Topics, "before")
	assert.NotContains(t, im.Topics, "lost", "the isolated controller's uncommitted change is gone")
}

// Two of three voters down: no change can commit, and the proposer hears
// so within its deadline instead of hanging; one voter back restores the
// majority.
func TestNoMajorityFailsWithinTheDeadline(t *testing.T) {
	c := newTestCluster(t, 3)
	leader := c.controller()
	var down []int32
	for id := range c.nodes {
		if id != leader.cfg.NodeID {
			down = append(down, id)
		}
	}
	for _, id := range down {
		c.stop(id)
	}
	short, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := leader.Propose(short, createTopic("x"))
	require.Error(t, err)
	require.True(t, isRetriable(err), "want a retriable error, got %v", err)

	c.start(down[0])
	c.propose(createTopic("y"))
}

func isRetriable(err error) bool {
	return errors.Is(err, ErrNoQuorum) || errors.Is(err, ErrNotController)
}

// A node restarted from its disk comes back with the image, from a
// snapshot and the entries after it.
func TestRestartRestoresTheImageFromSnapshotAndLog(t *testing.T) {
	c := newTestCluster(t, 3)
	c.propose(createTopic("a"))
	leader := c.propose(createTopic("b"))
	var follower int32
	for id := range c.nodes {
		if id != leader.cfg.NodeID {
			follower = id
		}
	}
	waitForTopic(t, c.nodes[follower], "b")
	require.NoError(t, c.nodes[follower].Snapshot())
	c.propose(createTopic("c"))
	waitForTopic(t, c.nodes[follower], "c")
	c.stop(follower)

	q := c.start(follower)
	waitForTopic(t, q, "c")
	im, _ := q.Image()
	assert.Equal(t, []string{"a", "b", "c"}, im.TopicNames())
	assert.Equal(t, "test-cluster", im.ClusterID)
}

// A broker outside the voter set follows the log as a non-voter.
func TestNonvoterFollowsTheLog(t *testing.T) {
	c := newTestCluster(t, 1)
	leader := c.controller()
	require.NoError(t, leader.Propose(ctx(t), createTopic("a")))
	d := newDisk()
	c.disks[7] = d
	q7, err := Open(Config{
		NodeID: 7, Addr: "10.0.0.7:9093", Voters: c.voters, ClusterID: "test-cluster",
		Network: c.net.Node(7), LogStore: d.store, StableStore: d.store, SnapshotStore: d.snaps,
		HeartbeatTimeout: 50 * time.Millisecond, ElectionTimeout: 50 * time.Millisecond,
		LeaderLeaseTimeout: 50 * time.Millisecond, Logger: quiet(),
	})
	require.NoError(t, err)
	defer q7.Close()
	require.NoError(t, leader.AddNonvoter(7, "10.0.0.7:9093", 5*time.Second))
	waitForTopic(t, q7, "a")
	require.NoError(t, leader.Propose(ctx(t), createTopic("b")))
	waitForTopic(t, q7, "b")
	assert.False(t, q7.IsController())
}

func TestParseVoters(t *testing.T) {
	vs, err := ParseVoters("1@127.0.0.1:19093,2@127.0.0.1:19094,3@127.0.0.1:19095")
	require.NoError(t, err)
	assert.Equal(t, []Voter{{1, "127.0.0.1:19093"}, {2, "127.0.0.1:19094"}, {3, "127.0.0.1:19095"}}, vs)
	for _, bad := range []string{"", "1", "1@", "x@127.0.0.1:1", "1@127.0.0.1", "1@127.0.0.1:0", "1@a:1,1@b:1", "1@a:1,2@a:1", "-1@a:1"} {
		_, err := ParseVoters(bad)
		assert.Error(t, err, bad)
	}
}
