package recorder_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordo-broker/ordo/broker"
	"github.com/ordo-broker/ordo/broker/ordotest"
	lin "github.com/ordo-broker/ordo/linearizability"
	"github.com/ordo-broker/ordo/linearizability/recorder"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestRecorderGroupMembers records two kgo members of one group against a
// real broker: the first is assigned both partitions, the second joins
// and takes one, both commit after every poll, then both leave. The
// history must hold every membership fact the group checkers use, with
// generations and member ids, and pass every checker.
func TestRecorderGroupMembers(t *testing.T) {
	b := ordotest.Start(t, ordotest.WithConfig(func(c *broker.Config) {
		c.GroupInitialRebalanceDelay = 0
		c.OffsetsTopicPartitions = 4
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out bytes.Buffer
	r := recorder.New(&out)
	plain := func(opts ...kgo.Opt) *kgo.Client {
		cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(b.Addr())}, opts...)...)
		require.NoError(t, err)
		t.Cleanup(cl.Close)
		return cl
	}
	_, err := kadm.NewClient(plain()).CreateTopic(ctx, 2, 1, nil, "grp")
	require.NoError(t, err)
	producer := r.Client(plain(kgo.RecordPartitioner(kgo.ManualPartitioner())))
	produce := func(from, to int) {
		for i := from; i < to; i++ {
			for p := range int32(2) {
				_, err := producer.Produce(ctx, "grp", p, fmt.Sprintf("v%d-%d", p, i))
				require.NoError(t, err)
			}
		}
	}
	produce(0, 3)

	var mu sync.Mutex
	consumed := map[string]int{}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(consumed)
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(b.Addr()), kgo.ConsumeTopics("grp"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.Balancers(kgo.RangeBalancer()), kgo.HeartbeatInterval(100 * time.Millisecond),
		kgo.FetchMaxWait(100 * time.Millisecond), kgo.BlockRebalanceOnPoll(),
	}
	var wg sync.WaitGroup
	join := func(stop <-chan struct{}) *recorder.Client {
		m, err := r.GroupClient("g", opts...)
		require.NoError(t, err)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer m.Kgo().Close()
			for {
				select {
				case <-stop:
					return
				default:
				}
				pctx, pcancel := context.WithTimeout(ctx, 200*time.Millisecond)
				fs := m.Poll(pctx)
				pcancel()
				if recs := fs.Records(); len(recs) > 0 {
					mu.Lock()
					for _, rec := range recs {
						consumed[string(rec.Value)]++
					}
					mu.Unlock()
					_ = m.CommitRecords(ctx, recs...)
				}
				m.Kgo().AllowRebalance()
			}
		}()
		return m
	}
	stop1, stop2 := make(chan struct{}), make(chan struct{})
	m1 := join(stop1)
	require.Eventually(t, func() bool { return count() == 6 }, 20*time.Second, 10*time.Millisecond)
	m2 := join(stop2)
	require.Eventually(t, func() bool {
		for _, op := range r.History() {
			if op.Client == m2.ID() && op.Kind == lin.KindAssign && op.Topic != "" {
				return true
			}
		}
		return false
	}, 20*time.Second, 10*time.Millisecond, "the second member is assigned a partition")
	produce(3, 5)
	require.Eventually(t, func() bool { return count() == 10 }, 20*time.Second, 10*time.Millisecond)
	close(stop2)
	close(stop1)
	wg.Wait()

	reader := r.Client(plain())
	require.NoError(t, reader.Drain(ctx, "grp", true))
	got, err := reader.FetchOffsets(ctx, "g", "grp", 0, 1)
	require.NoError(t, err)
	require.Equal(t, map[int32]int64{0: 5, 1: 5}, got, "every record committed")
	require.NoError(t, r.Flush())

	h := r.History()
	require.NoError(t, h.Validate())
	back, err := lin.ReadHistory(&out)
	require.NoError(t, err)
	require.Equal(t, h, back, "the JSON lines are the history")

	var assigns, revokes, memberFetches, memberCommits int
	gens := map[int32]bool{}
	for _, op := range h {
		switch {
		case op.Kind == lin.KindAssign:
			assigns++
			require.Equal(t, "g", op.Group)
			require.Positive(t, op.Generation)
			require.NotEmpty(t, op.Member)
			require.Contains(t, []int{m1.ID(), m2.ID()}, op.Client)
			gens[op.Generation] = true
		case op.Kind == lin.KindRevoke:
			revokes++
			require.False(t, op.Lost, "nobody lost a partition: %+v", op)
		case op.Kind == lin.KindFetchOffset && op.Member != "":
			memberFetches++
			require.Equal(t, lin.OK, op.Outcome)
			require.LessOrEqual(t, op.Call, op.Return)
		case op.Kind == lin.KindCommit:
			memberCommits++
			require.Equal(t, lin.OK, op.Outcome, "%+v", op)
			require.Positive(t, op.Generation)
			require.NotEmpty(t, op.Member)
		}
	}
	t.Logf("%d assigns in generations %v, %d revokes, %d member offset fetches, %d commits", assigns, gens, revokes, memberFetches, memberCommits)
	require.GreaterOrEqual(t, len(gens), 2, "the second member's join made a new generation")
	require.GreaterOrEqual(t, revokes, 2, "leaving revokes what each member owned")
	require.GreaterOrEqual(t, memberFetches, 3, "each assignment fetches committed offsets")
	require.GreaterOrEqual(t, memberCommits, 2)

	rep := lin.Check(h, lin.Options{})
	var sb strings.Builder
	rep.WriteSummary(&sb)
	t.Log("\n" + sb.String())
	require.Empty(t, rep.Static.Notes)
	require.True(t, rep.OK())
}
