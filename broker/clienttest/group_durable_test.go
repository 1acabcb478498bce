package clienttest

import (
	"testing"
	"time"

	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/ordo-broker/ordo/broker/ordotest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestGroupOffsetsSurviveRestartAndCrash: committed offsets are records of
// __consumer_offsets, acknowledged once fsynced, so they survive a clean
// restart and power loss; the group itself (members, assignment) is loaded
// back from its record, and a consumer resumes where the group committed.
func TestGroupOffsetsSurviveRestartAndCrash(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 60*time.Second)
	b := startGroupBroker(t, ordotest.WithMemFS(fs.NewMem()))
	adm := newAdmin(t, b)
	const topic, group, simple, partitions = "durable-groups", "durable", "durable-simple", 3
	createTopic(t, ctx, adm, topic, partitions, nil)
	produceValues(t, ctx, newClient(t, b, manualPartitions()), topic, partitions, 10, 0)

	// A group member consumes and commits everything; a simple commit
	// carries metadata.
	c := groupConsumer(t, b, group, topic, kgo.DisableAutoCommit(), kgo.SessionTimeout(30*time.Second))
	for seen := 0; seen < partitions*10; {
		fs := c.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d: %v", seen, ctx.Err())
		}
		seen += fs.NumRecords()
	}
	if err := c.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatalf("commit: %v", err)
	}
	memberID, _ := c.GroupMetadata()
	simpleOffsets := kadm.Offsets{}
	simpleOffsets.Add(kadm.Offset{Topic: topic, Partition: 2, At: 4, LeaderEpoch: -1, Metadata: "kept"})
	if resp, err := adm.CommitOffsets(ctx, simple, simpleOffsets); err != nil || resp.Error() != nil {
		t.Fatalf("simple commit: %v / %v", err, resp.Error())
	}

	check := func(when string) {
		t.Helper()
		got, err := adm.FetchOffsets(ctx, group)
		if err != nil || got.Error() != nil {
			t.Fatalf("%s: FetchOffsets: %v / %v", when, err, got.Error())
		}
		for p := range int32(partitions) {
			if o, ok := got.Lookup(topic, p); !ok || o.At != 10 {
				t.Errorf("%s: partition %d committed at %+v, want 10", when, p, o.Offset)
			}
		}
		s, err := adm.FetchOffsets(ctx, simple)
		if err != nil {
			t.Fatalf("%s: FetchOffsets: %v", when, err)
		}
		if o, _ := s.Lookup(topic, 2); o.At != 4 || o.Metadata != "kept" {
			t.Errorf("%s: simple commit is %+v, want 4 with metadata", when, o.Offset)
		}
	}
	check("before")

	// The member stays connected through a clean restart: the group is
	// loaded back with it as a member.
	b.Restart()
	check("after a restart")
	d, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	if g := d[group]; g.State != "Stable" || len(g.Members) != 1 || g.Members[0].MemberID != memberID {
		t.Errorf("after a restart the group is %s with %d members, want Stable with %s", g.State, len(g.Members), memberID)
	}
	c.Close()

	b.Crash(fs.CrashOptions{})
	check("after a crash")
	b.Crash(tornCrash(t))
	check("after a crash with a torn write")

	// A new member resumes at the committed offsets.
	more := produceValues(t, ctx, newClient(t, b, manualPartitions()), topic, partitions, 2, 10)
	c2 := groupConsumer(t, b, group, topic)
	var got int
	for got < len(more) {
		fs := c2.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d after the crash: %v", got, len(more), ctx.Err())
		}
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset < 10 {
				t.Errorf("partition %d: consumed offset %d after the crash, below the committed 10", r.Partition, r.Offset)
			}
			got++
		})
	}
}
