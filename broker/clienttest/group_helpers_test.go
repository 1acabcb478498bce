package clienttest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordo-broker/ordo/broker"
	"github.com/ordo-broker/ordo/broker/ordotest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// startGroupBroker starts a broker for group tests: a few partitions of
// __consumer_offsets instead of 50, no initial rebalance delay, and
// session timeouts down to 100ms so expiry tests stay short.
func startGroupBroker(t *testing.T, opts ...ordotest.Option) *ordotest.Broker {
	t.Helper()
	cfg := ordotest.WithConfig(func(c *broker.Config) {
		c.OffsetsTopicPartitions = 4
		c.GroupInitialRebalanceDelay = 0
		c.GroupMinSessionTimeout = 100 * time.Millisecond
	})
	return ordotest.Start(t, append([]ordotest.Option{cfg}, opts...)...)
}

// groupConsumer is a kgo client consuming topic in group, from the start
// when nothing is committed, with short session and heartbeat intervals.
func groupConsumer(t *testing.T, b *ordotest.Broker, group, topic string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	base := []kgo.Opt{
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.SessionTimeout(3 * time.Second),
		kgo.HeartbeatInterval(100 * time.Millisecond),
		kgo.RebalanceTimeout(5 * time.Second),
	}
	return newClient(t, b, append(base, opts...)...)
}

// assignment is a group's assignment as DescribeGroups shows it: member id
// → partitions of the topic, sorted.
type assignment map[string][]int32

func (a assignment) String() string {
	var parts []string
	for _, m := range slices.Sorted(maps.Keys(a)) {
		parts = append(parts, fmt.Sprintf("%s:%v", m, a[m]))
	}
	return strings.Join(parts, " ")
}

// describeAssignment describes group and returns its state and the
// partitions of topic each member has.
func describeAssignment(ctx context.Context, adm *kadm.Client, group, topic string) (string, assignment, error) {
	described, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return "", nil, err
	}
	g := described[group]
	if g.Err != nil {
		return "", nil, g.Err
	}
	a := assignment{}
	for _, m := range g.Members {
		a[m.MemberID] = nil
		if c, ok := m.Assigned.AsConsumer(); ok {
			for _, t := range c.Topics {
				if t.Topic == topic {
					a[m.MemberID] = append(a[m.MemberID], t.Partitions...)
				}
			}
		}
		slices.Sort(a[m.MemberID])
	}
	return g.State, a, nil
}

// waitBalanced polls DescribeGroups until group is Stable with members
// members that share topic's partitions, each partition to exactly one
// member and every member with at least one, and returns the assignment.
func waitBalanced(t *testing.T, ctx context.Context, adm *kadm.Client, group, topic string, members, partitions int) assignment {
	t.Helper()
	var last string
	for {
		state, a, err := describeAssignment(ctx, adm, group, topic)
		if err == nil && state == "Stable" && len(a) == members && coversOnce(a, partitions) {
			return a
		}
		last = fmt.Sprintf("state %s, assignment %v, err %v", state, a, err)
		select {
		case <-ctx.Done():
			t.Fatalf("group %s never had %d members sharing %d partitions; last: %s", group, members, partitions, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// coversOnce: every partition 0..n-1 is assigned to exactly one member, and
// every member has at least one partition.
func coversOnce(a assignment, n int) bool {
	seen := map[int32]int{}
	for _, ps := range a {
		if len(ps) == 0 {
			return false
		}
		for _, p := range ps {
			seen[p]++
		}
	}
	if len(seen) != n {
		return false
	}
	for p, c := range seen {
		if p < 0 || int(p) >= n || c != 1 {
			return false
		}
	}
	return true
}

// consumed collects what a set of group consumers consume: record values by
// consumer name, and which consumers consumed each partition.
type consumed struct {
	mu     sync.Mutex
	values map[string][]string
	owners map[int32]map[string]bool
	total  int
}

func newConsumed() *consumed {
	return &consumed{values: map[string][]string{}, owners: map[int32]map[string]bool{}}
}

func (c *consumed) add(name string, r *kgo.Record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.values[name] = append(c.values[name], string(r.Value))
	if c.owners[r.Partition] == nil {
		c.owners[r.Partition] = map[string]bool{}
	}
	c.owners[r.Partition][name] = true
	c.total++
}

func (c *consumed) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

// poll consumes with cl until ctx ends, recording under name. Run it in a
// goroutine; it returns when ctx is done or the client is closed.
func (c *consumed) poll(ctx context.Context, name string, cl *kgo.Client) {
	for ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		if fs.IsClientClosed() {
			return
		}
		fs.EachRecord(func(r *kgo.Record) { c.add(name, r) })
	}
}

// waitCount polls until at least n records were consumed.
func waitCount(t *testing.T, ctx context.Context, c *consumed, n int) {
	t.Helper()
	for c.count() < n {
		select {
		case <-ctx.Done():
			t.Fatalf("consumed %d records, want %d", c.count(), n)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// produceValues produces perPartition records to every partition of topic
// with values "p<partition>-<i>", and returns them sorted.
func produceValues(t *testing.T, ctx context.Context, cl *kgo.Client, topic string, partitions, perPartition, from int) []string {
	t.Helper()
	var rs []*kgo.Record
	var values []string
	for p := range partitions {
		for i := from; i < from+perPartition; i++ {
			v := fmt.Sprintf("p%d-%03d", p, i)
			rs = append(rs, &kgo.Record{Topic: topic, Partition: int32(p), Value: []byte(v)})
			values = append(values, v)
		}
	}
	produceAll(t, ctx, cl, rs)
	sort.Strings(values)
	return values
}

// manualPartitions is a kgo producer option that sends each record to the
// partition it names.
func manualPartitions() kgo.Opt { return kgo.RecordPartitioner(kgo.ManualPartitioner()) }

// rawMember is a group member driven by hand-built requests, so a test can
// make it stop heartbeating, as a consumer that hangs or loses its network
// would.
type rawMember struct {
	id         string
	generation int32
	assigned   []int32
}

// joinRaw joins group as a consumer of topic with the range protocol and
// session timeout sessionMs, and syncs to get its assignment. It retries
// what a client retries (MEMBER_ID_REQUIRED, REBALANCE_IN_PROGRESS) until
// ctx ends.
func joinRaw(ctx context.Context, cl *kgo.Client, group, topic string, sessionMs int32) (rawMember, error) {
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = []string{topic}
	var m rawMember
	for ctx.Err() == nil {
		join := kmsg.NewPtrJoinGroupRequest()
		join.Group, join.MemberID, join.ProtocolType = group, m.id, "consumer"
		join.SessionTimeoutMillis, join.RebalanceTimeoutMillis = sessionMs, 5000
		join.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: meta.AppendTo(nil)}}
		jresp, err := join.RequestWith(ctx, cl)
		if err != nil {
			return m, err
		}
		switch err := kerr.ErrorForCode(jresp.ErrorCode); {
		case errors.Is(err, kerr.MemberIDRequired):
			m.id = jresp.MemberID
			continue
		case err != nil:
			return m, fmt.Errorf("join: %w", err)
		}
		m.id, m.generation = jresp.MemberID, jresp.Generation
		sync := kmsg.NewPtrSyncGroupRequest()
		sync.Group, sync.MemberID, sync.Generation = group, m.id, m.generation
		sresp, err := sync.RequestWith(ctx, cl)
		if err != nil {
			return m, err
		}
		switch err := kerr.ErrorForCode(sresp.ErrorCode); {
		case errors.Is(err, kerr.RebalanceInProgress):
			continue
		case err != nil:
			return m, fmt.Errorf("sync: %w", err)
		}
		var a kmsg.ConsumerMemberAssignment
		if err := a.ReadFrom(sresp.MemberAssignment); err != nil {
			return m, fmt.Errorf("assignment: %w", err)
		}
		for _, t := range a.Topics {
			if t.Topic == topic {
				m.assigned = append(m.assigned, t.Partitions...)
			}
		}
		return m, nil
	}
	return m, ctx.Err()
}

// waitCommitted polls until group has committed offset want on every
// partition of topic (clients commit in the background) and returns the
// committed offsets' metadata by partition.
func waitCommitted(t *testing.T, ctx context.Context, adm *kadm.Client, group, topic string, partitions int, want int64) map[int32]string {
	t.Helper()
	for {
		got, err := adm.FetchOffsets(ctx, group)
		if err == nil && got.Error() == nil {
			meta := map[int32]string{}
			for p := range int32(partitions) {
				if o, ok := got.Lookup(topic, p); ok && o.At == want {
					meta[p] = o.Metadata
				}
			}
			if len(meta) == partitions {
				return meta
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("group %s never committed %d on all %d partitions of %s; last: %v (err %v)", group, want, partitions, topic, got, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
