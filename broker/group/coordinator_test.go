package group

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/ordo-broker/ordo/broker/partition"
)

// These tests drive the Coordinator (the I/O half) over in-memory twins of
// the controller and of the partitions of __consumer_offsets (twins_test.go).

type rig struct {
	t    *testing.T
	c    *Coordinator
	meta *memMetadata
	logs map[int32]*memLog
}

const rigPartitions = 3

// newRig starts a coordinator on node 0. With create, __consumer_offsets
// exists before it starts (led by leader), and prepare may fill its logs
// and hold their reads back.
func newRig(t *testing.T, leader int32, create bool, prepare func(r *rig)) *rig {
	t.Helper()
	r := &rig{t: t, meta: newMemMetadata(leader), logs: map[int32]*memLog{}}
	for p := range int32(rigPartitions) {
		r.logs[p] = newMemLog()
	}
	gcfg := DefaultConfig()
	gcfg.InitialRebalanceDelay = 0
	gcfg.MinSessionTimeout = 10 * time.Millisecond
	r.c = NewCoordinator(CoordinatorConfig{NodeID: 0, Partitions: rigPartitions, Group: gcfg, CommitTimeout: 5 * time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
		r.meta, func(p int32) Log {
			if l := r.logs[p]; l != nil {
				return l
			}
			return nil
		})
	if create {
		if _, err := r.c.offsetsTopic(); err != nil {
			t.Fatal(err)
		}
	}
	if prepare != nil {
		prepare(r)
	}
	r.meta.subscribe(r.c.OnImage)
	t.Cleanup(func() { _ = r.c.Close() })
	return r
}

// loaded waits until every partition this broker leads has loaded.
func (r *rig) loaded() *rig {
	r.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := r.c.List(nil); err == nil {
			return r
		} else if time.Now().After(deadline) {
			r.t.Fatalf("partitions never loaded: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
}

func (r *rig) logOf(group string) *memLog { return r.logs[PartitionFor(group, rigPartitions)] }

func wait(t *testing.T, p *Pending) Reply {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rep, err := p.Wait(ctx)
	if err != nil {
		t.Fatalf("no reply: %v", err)
	}
	return rep
}

func joinReq(group, member string, rebalanceMs int32) JoinRequest {
	return JoinRequest{
		Group: group, MemberID: member, ProtocolType: "consumer",
		Protocols:        []Protocol{{Name: "range", Metadata: []byte{0}}},
		SessionTimeoutMs: 10000, RebalanceTimeoutMs: rebalanceMs, ClientID: "c", Version: 9,
	}
}

// stableMember joins group as a new member and syncs (assigning "a"),
// returning its id and generation.
func (r *rig) stableMember(group string) (string, int32) {
	r.t.Helper()
	rep := wait(r.t, r.c.Join(joinReq(group, "", 60000)))
	if !errors.Is(rep.Join.Err, ErrMemberIDRequired) {
		r.t.Fatalf("first join: %+v", rep)
	}
	id := rep.Join.MemberID
	rep = wait(r.t, r.c.Join(joinReq(group, id, 60000)))
	if rep.Err != nil || rep.Join.Err != nil {
		r.t.Fatalf("join: %+v %+v", rep, rep.Join)
	}
	gen := rep.Join.Generation
	sync := wait(r.t, r.c.Sync(SyncRequest{Group: group, MemberID: id, Generation: gen, Assignments: []Assignment{{id, []byte("a")}}}))
	if sync.Err != nil || sync.Sync.Err != nil {
		r.t.Fatalf("sync: %+v", sync)
	}
	return id, gen
}

func TestCoordinatorCreatesOffsetsTopic(t *testing.T) {
	r := newRig(t, 0, false, nil)
	b, err := r.c.Coordinator("g")
	if err != nil || b.NodeID != 0 {
		t.Fatalf("Coordinator = %+v, %v", b, err)
	}
	top := r.meta.Image().Topics[OffsetsTopic]
	if top == nil || !top.Internal || len(top.Partitions) != rigPartitions {
		t.Fatalf("__consumer_offsets = %+v, want internal with %d partitions", top, rigPartitions)
	}
}

// A partition led by another broker is not ours: NOT_COORDINATOR, and
// FindCoordinator names the leader.
func TestCoordinatorNotCoordinator(t *testing.T) {
	r := newRig(t, 1, true, nil)
	if rep := wait(t, r.c.Join(joinReq("g", "", 1000))); !errors.Is(rep.Err, ErrNotCoordinator) {
		t.Errorf("join: %+v, want NOT_COORDINATOR", rep)
	}
	if err := r.c.Heartbeat(HeartbeatRequest{Group: "g", MemberID: "m"}); !errors.Is(err, ErrNotCoordinator) {
		t.Errorf("heartbeat: %v", err)
	}
	if b, err := r.c.Coordinator("g"); err != nil || b.NodeID != 1 || b.Port != 9093 {
		t.Errorf("Coordinator = %+v, %v; want broker 1", b, err)
	}
}

// While a partition loads, its groups answer COORDINATOR_LOAD_IN_PROGRESS;
// once loaded, the offsets read from the log are there.
func TestCoordinatorLoadInProgress(t *testing.T) {
	gate := make(chan struct{})
	r := newRig(t, 0, true, func(r *rig) {
		l := r.logOf("g")
		rec := offsetCommitRecord("g", TopicPartition{"t", 0}, Offset{Offset: 42, LeaderEpoch: 3, Metadata: "m"})
		if _, err := l.Append(EncodeBatch([]Record{rec}, time.Now()), time.Now()); err != nil {
			t.Fatal(err)
		}
		l.readGate = gate
	})
	if err := r.c.Heartbeat(HeartbeatRequest{Group: "g", MemberID: "m"}); !errors.Is(err, ErrCoordinatorLoadInProgress) {
		t.Errorf("heartbeat while loading: %v", err)
	}
	if rep := wait(t, r.c.Join(joinReq("g", "", 1000))); !errors.Is(rep.Err, ErrCoordinatorLoadInProgress) {
		t.Errorf("join while loading: %+v", rep)
	}
	if _, err := r.c.FetchOffsets("g", nil); !errors.Is(err, ErrCoordinatorLoadInProgress) {
		t.Errorf("fetch while loading: %v", err)
	}
	if _, err := r.c.List(nil); !errors.Is(err, ErrCoordinatorLoadInProgress) {
		t.Errorf("list while loading: %v", err)
	}
	close(gate)
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := r.c.FetchOffsets("g", nil)
		if err == nil {
			if len(got) != 1 || got[0].Offset.Offset != 42 || got[0].LeaderEpoch != 3 || got[0].Metadata != "m" {
				t.Fatalf("loaded offsets %+v", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still not loaded: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// When leadership moves away, parked requests get NOT_COORDINATOR; when it
// comes back, the groups are loaded again from the log.
func TestCoordinatorLeadershipMoves(t *testing.T) {
	r := newRig(t, 0, true, nil).loaded()
	m1, gen := r.stableMember("g")
	// m2 joins; the group waits up to a minute for m1 to rejoin.
	rep := wait(t, r.c.Join(joinReq("g", "", 60000)))
	parked := r.c.Join(joinReq("g", rep.Join.MemberID, 60000))

	r.meta.moveLeader(1)
	if rep := wait(t, parked); !errors.Is(rep.Err, ErrNotCoordinator) {
		t.Errorf("parked join after losing leadership: %+v", rep)
	}
	if err := r.c.Heartbeat(HeartbeatRequest{Group: "g", MemberID: m1, Generation: gen}); !errors.Is(err, ErrNotCoordinator) {
		t.Errorf("heartbeat after losing leadership: %v", err)
	}

	r.meta.moveLeader(0)
	deadline := time.Now().Add(5 * time.Second)
	for {
		d, err := r.c.Describe("g")
		if err == nil {
			if d.State != Stable || len(d.Members) != 1 || d.Members[0].MemberID != m1 || string(d.Members[0].Assignment) != "a" {
				t.Fatalf("reloaded group: %+v", d)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never reloaded: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := r.c.Heartbeat(HeartbeatRequest{Group: "g", MemberID: m1, Generation: gen}); err != nil {
		t.Errorf("heartbeat of the reloaded member: %v", err)
	}
}

// A commit is answered, and visible, only once its records are committed.
func TestCoordinatorCommitWaitsForTheLog(t *testing.T) {
	r := newRig(t, 0, true, nil).loaded()
	l := r.logOf("g")
	l.mu.Lock()
	l.autoCommit = false
	l.mu.Unlock()

	p := r.c.CommitOffsets(CommitRequest{Group: "g", Generation: -1, Offsets: []CommitOffset{{TopicPartition: TopicPartition{"t", 0}, Offset: 5, LeaderEpoch: -1}}}, 9)
	answered := make(chan Reply, 1)
	go func() { answered <- wait(t, p) }()
	select {
	case rep := <-answered:
		t.Fatalf("answered before the write was committed: %+v", rep)
	case <-time.After(50 * time.Millisecond):
	}
	if got, _ := r.c.FetchOffsets("g", nil); len(got) != 0 {
		t.Fatalf("an uncommitted offset is visible: %+v", got)
	}
	l.commitAll()
	if rep := <-answered; rep.Err != nil || len(rep.Commit) != 1 || rep.Commit[0] != nil {
		t.Fatalf("commit reply %+v", rep)
	}
	if got, _ := r.c.FetchOffsets("g", nil); len(got) != 1 || got[0].Offset.Offset != 5 {
		t.Fatalf("offsets after the commit: %+v", got)
	}
}

// Failed appends are answered as Kafka maps them.
func TestCoordinatorWriteErrors(t *testing.T) {
	r := newRig(t, 0, true, nil).loaded()
	commit := func() error {
		rep := wait(t, r.c.CommitOffsets(CommitRequest{Group: "g", Generation: -1, Offsets: []CommitOffset{{TopicPartition: TopicPartition{"t", 0}, Offset: 1}}}, 9))
		if rep.Err != nil {
			return rep.Err
		}
		return rep.Commit[0]
	}
	l := r.logOf("g")
	for _, tc := range []struct{ append, want error }{
		{partition.ErrNotLeader, ErrNotCoordinator},
		{partition.ErrTimeout, ErrCoordinatorNotAvailable},
		{partition.ErrMessageTooLarge, ErrWriteFailed},
	} {
		l.mu.Lock()
		l.appendErr = tc.append
		l.mu.Unlock()
		if err := commit(); !errors.Is(err, tc.want) {
			t.Errorf("append failing with %v: commit answered %v, want %v", tc.append, err, tc.want)
		}
	}
}

// A group waiting for a slow member does not hold up other groups, and
// many groups rebalance at once.
func TestCoordinatorGroupsDoNotWaitForEachOther(t *testing.T) {
	r := newRig(t, 0, true, nil).loaded()
	r.stableMember("slow")
	rep := wait(t, r.c.Join(joinReq("slow", "", 60000)))
	parked := r.c.Join(joinReq("slow", rep.Join.MemberID, 60000)) // waits for the first member to rejoin

	start := time.Now()
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := fmt.Sprintf("fast-%d", i)
			id, gen := r.stableMember(g)
			rep := wait(t, r.c.CommitOffsets(CommitRequest{Group: g, MemberID: id, Generation: gen,
				Offsets: []CommitOffset{{TopicPartition: TopicPartition{"t", 0}, Offset: int64(i)}}}, 9))
			if rep.Err != nil || rep.Commit[0] != nil {
				t.Errorf("%s: commit %+v", g, rep)
			}
		}()
	}
	wg.Wait()
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("50 groups took %v to rebalance and commit", took)
	}
	select {
	case <-parked.ch:
		t.Fatal("the slow group's join was answered before its member rejoined")
	default:
	}

	// Closing answers what is still parked.
	_ = r.c.Close()
	if rep := wait(t, parked); !errors.Is(rep.Err, ErrNotCoordinator) {
		t.Errorf("parked join at close: %+v", rep)
	}
}

// A parked request whose connection goes away returns at once.
func TestPendingHonoursContext(t *testing.T) {
	r := newRig(t, 0, true, nil).loaded()
	r.stableMember("g")
	rep := wait(t, r.c.Join(joinReq("g", "", 60000)))
	parked := r.c.Join(joinReq("g", rep.Join.MemberID, 60000))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := parked.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with a cancelled context: %v", err)
	}
}
