package clienttest

import (
	"context"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestKgoGroupSharesPartitions: three kgo members of one group (range
// assignor) share six partitions, each partition to exactly one member, and
// every record produced afterwards is consumed once, by the member that owns
// its partition.
func TestKgoGroupSharesPartitions(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 60*time.Second)
	b := startGroupBroker(t)
	adm := newAdmin(t, b)
	const topic, group, partitions = "shared", "sharers", 6
	createTopic(t, ctx, adm, topic, partitions, nil)

	got := newConsumed()
	names := []string{"c1", "c2", "c3"}
	for _, name := range names {
		cl := groupConsumer(t, b, group, topic, kgo.Balancers(kgo.RangeBalancer()), kgo.ClientID(name))
		go got.poll(ctx, name, cl)
	}
	a := waitBalanced(t, ctx, adm, group, topic, 3, partitions)
	for m, ps := range a {
		if len(ps) != 2 {
			t.Errorf("member %s has partitions %v; the range assignor gives each of 3 members 2 of 6", m, ps)
		}
	}

	want := produceValues(t, ctx, newClient(t, b, manualPartitions()), topic, partitions, 20, 0)
	waitCount(t, ctx, got, len(want))

	got.mu.Lock()
	defer got.mu.Unlock()
	var all []string
	for _, vs := range got.values {
		all = append(all, vs...)
	}
	sort.Strings(all)
	if !slices.Equal(all, want) {
		t.Fatalf("consumed %d records, want each of the %d produced exactly once", len(all), len(want))
	}
	for p, owners := range got.owners {
		if len(owners) != 1 {
			t.Errorf("partition %d consumed by %v, want exactly one member", p, owners)
		}
	}
}

// TestKgoGroupResumesFromCommit: a member commits what it consumed and
// closes; a member that joins later starts each partition at the committed
// offset, not from the start.
func TestKgoGroupResumesFromCommit(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 60*time.Second)
	b := startGroupBroker(t)
	adm := newAdmin(t, b)
	const topic, group, partitions = "resume", "resumers", 3
	createTopic(t, ctx, adm, topic, partitions, nil)
	producer := newClient(t, b, manualPartitions())
	first := produceValues(t, ctx, producer, topic, partitions, 10, 0)

	c1 := groupConsumer(t, b, group, topic, kgo.DisableAutoCommit())
	seen := 0
	for seen < len(first) {
		fs := c1.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d: %v", seen, len(first), ctx.Err())
		}
		seen += fs.NumRecords()
	}
	if err := c1.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatalf("commit: %v", err)
	}
	c1.Close()

	offsets, err := adm.FetchOffsets(ctx, group)
	if err != nil || offsets.Error() != nil {
		t.Fatalf("FetchOffsets: %v / %v", err, offsets.Error())
	}
	for p := range int32(partitions) {
		if o, ok := offsets.Lookup(topic, p); !ok || o.At != 10 {
			t.Errorf("committed offset of partition %d is %+v, want 10", p, o)
		}
	}

	second := produceValues(t, ctx, producer, topic, partitions, 5, 10)
	c2 := groupConsumer(t, b, group, topic)
	var got []string
	for len(got) < len(second) {
		fs := c2.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("second member consumed %v: %v", got, ctx.Err())
		}
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset < 10 {
				t.Errorf("partition %d: consumed offset %d, below the committed 10", r.Partition, r.Offset)
			}
			got = append(got, string(r.Value))
		})
	}
	sort.Strings(got)
	if !slices.Equal(got, second) {
		t.Errorf("second member consumed %v, want %v", got, second)
	}
}

// TestKgoGroupMemberLeaves: when a member closes (LeaveGroup), the
// remaining member gets its partitions and consumes what is produced there.
func TestKgoGroupMemberLeaves(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 60*time.Second)
	b := startGroupBroker(t)
	adm := newAdmin(t, b)
	const topic, group, partitions = "leaving", "leavers", 6
	createTopic(t, ctx, adm, topic, partitions, nil)

	got := newConsumed()
	stay := groupConsumer(t, b, group, topic, kgo.ClientID("stay"))
	go got.poll(ctx, "stay", stay)
	leave := groupConsumer(t, b, group, topic, kgo.ClientID("leave"))
	waitBalanced(t, ctx, adm, group, topic, 2, partitions)

	leave.Close() // sends LeaveGroup
	a := waitBalanced(t, ctx, adm, group, topic, 1, partitions)
	memberID, _ := stay.GroupMetadata()
	if _, ok := a[memberID]; !ok {
		t.Fatalf("assignment %v, want everything on the remaining member %s", a, memberID)
	}
	want := produceValues(t, ctx, newClient(t, b, manualPartitions()), topic, partitions, 5, 0)
	waitCount(t, ctx, got, len(want))
	if len(got.owners) != partitions {
		t.Errorf("the remaining member consumed from partitions %v, want all %d", got.owners, partitions)
	}
}

// TestKgoGroupMemberStopsHeartbeating: a member that stops heartbeating
// (here a hand-driven one, as a hung or cut-off consumer) is removed when
// its session times out, and its partitions move to the live member.
func TestKgoGroupMemberStopsHeartbeating(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 60*time.Second)
	b := startGroupBroker(t)
	adm := newAdmin(t, b)
	const topic, group, partitions = "silent", "silents", 6
	createTopic(t, ctx, adm, topic, partitions, nil)

	got := newConsumed()
	live := groupConsumer(t, b, group, topic, kgo.Balancers(kgo.RangeBalancer()))
	go got.poll(ctx, "live", live)
	waitBalanced(t, ctx, adm, group, topic, 1, partitions)

	silent, err := joinRaw(ctx, newClient(t, b), group, topic, 1000)
	if err != nil {
		t.Fatalf("raw member: %v", err)
	}
	if len(silent.assigned) == 0 {
		t.Fatalf("the raw member was assigned nothing")
	}
	waitBalanced(t, ctx, adm, group, topic, 2, partitions)

	// No heartbeat from the raw member from now on: after its 1s session
	// it is gone and the live member owns every partition.
	start := time.Now()
	a := waitBalanced(t, ctx, adm, group, topic, 1, partitions)
	if _, ok := a[silent.id]; ok {
		t.Fatalf("the silent member is still in the group: %v", a)
	}
	if took := time.Since(start); took < 500*time.Millisecond {
		t.Errorf("the silent member was removed after %v, before its session could end", took)
	}
	want := produceValues(t, ctx, newClient(t, b, manualPartitions()), topic, partitions, 5, 0)
	waitCount(t, ctx, got, len(want))
	for _, p := range silent.assigned {
		if !got.owners[p]["live"] {
			t.Errorf("partition %d of the silent member was not consumed by the live one", p)
		}
	}
}

// TestKgoGroupCooperativeSticky: with the cooperative-sticky assignor
// (KIP-429, two rebalances), members keep their partitions when a member
// leaves: only the leaver's partitions move, and nobody else revokes any.
func TestKgoGroupCooperativeSticky(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 60*time.Second)
	b := startGroupBroker(t)
	adm := newAdmin(t, b)
	const topic, group, partitions = "sticky", "stickies", 6
	createTopic(t, ctx, adm, topic, partitions, nil)

	var mu sync.Mutex
	revoked := map[string][]int32{}
	consumer := func(name string) *kgo.Client {
		return groupConsumer(t, b, group, topic,
			kgo.Balancers(kgo.CooperativeStickyBalancer()),
			kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
				mu.Lock()
				defer mu.Unlock()
				revoked[name] = append(revoked[name], m[topic]...)
			}))
	}
	clients := map[string]*kgo.Client{"c1": consumer("c1"), "c2": consumer("c2"), "c3": consumer("c3")}
	got := newConsumed()
	for name, cl := range clients {
		go got.poll(ctx, name, cl)
	}
	before := waitBalanced(t, ctx, adm, group, topic, 3, partitions)

	mu.Lock()
	clear(revoked)
	mu.Unlock()
	clients["c3"].Close()
	after := waitBalanced(t, ctx, adm, group, topic, 2, partitions)

	for _, name := range []string{"c1", "c2"} {
		id, _ := clients[name].GroupMetadata()
		for _, p := range before[id] {
			if !slices.Contains(after[id], p) {
				t.Errorf("%s lost partition %d: before %v, after %v", name, p, before[id], after[id])
			}
		}
		mu.Lock()
		if len(revoked[name]) > 0 {
			t.Errorf("%s revoked %v; cooperative rebalancing moves only the leaver's partitions", name, revoked[name])
		}
		mu.Unlock()
	}
	want := produceValues(t, ctx, newClient(t, b, manualPartitions()), topic, partitions, 5, 0)
	waitCount(t, ctx, got, len(want))
}

// TestKgoGroupStaticMemberRestart: a static member (group.instance.id,
// KIP-345) that restarts quickly takes its old place without a rebalance:
// same partitions, and the other member stays in its generation.
func TestKgoGroupStaticMemberRestart(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 60*time.Second)
	b := startGroupBroker(t)
	adm := newAdmin(t, b)
	const topic, group, partitions = "static", "statics", 4
	createTopic(t, ctx, adm, topic, partitions, nil)

	static := func(instance string) *kgo.Client {
		return groupConsumer(t, b, group, topic, kgo.InstanceID(instance), kgo.Balancers(kgo.RangeBalancer()))
	}
	c1, c2 := static("i1"), static("i2")
	go newConsumed().poll(ctx, "i1", c1)
	go newConsumed().poll(ctx, "i2", c2)
	before := waitBalanced(t, ctx, adm, group, topic, 2, partitions)
	oldID, gen := c2.GroupMetadata()
	_, gen1 := c1.GroupMetadata()
	if gen != gen1 || gen <= 0 {
		t.Fatalf("members are in generations %d and %d", gen1, gen)
	}

	c2.Close() // static members do not leave on close
	got := newConsumed()
	c2b := static("i2")
	go got.poll(ctx, "i2", c2b)
	var after assignment
	for {
		_, a, err := describeAssignment(ctx, adm, group, topic)
		if newID, _ := c2b.GroupMetadata(); err == nil && newID != "" && newID != oldID && len(a[newID]) > 0 {
			after = a
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the restarted static member never got its partitions back")
		}
		time.Sleep(20 * time.Millisecond)
	}
	newID, newGen := c2b.GroupMetadata()
	if !slices.Equal(after[newID], before[oldID]) {
		t.Errorf("restarted member has %v, had %v", after[newID], before[oldID])
	}
	if newGen != gen {
		t.Errorf("generation moved from %d to %d: the rejoin caused a rebalance", gen, newGen)
	}
	if _, g := c1.GroupMetadata(); g != gen {
		t.Errorf("the other member moved from generation %d to %d", gen, g)
	}
	var mine int
	for _, p := range before[oldID] {
		produceAll(t, ctx, newClient(t, b, manualPartitions()), []*kgo.Record{{Topic: topic, Partition: p, Value: []byte("after-restart")}})
		mine++
	}
	waitCount(t, ctx, got, mine)
}
