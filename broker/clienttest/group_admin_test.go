package clienttest

import (
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestKadmGroups: kadm lists, describes and deletes groups, commits and
// fetches offsets (metadata round-trips), and deletes offsets, with the
// errors Kafka gives for groups that still have members.
func TestKadmGroups(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 60*time.Second)
	b := startGroupBroker(t)
	adm := newAdmin(t, b)
	const topic, other, group, simple = "admin-groups", "admin-other", "admin-live", "admin-simple"
	createTopic(t, ctx, adm, topic, 2, nil)
	createTopic(t, ctx, adm, other, 1, nil)

	live := groupConsumer(t, b, group, topic, kgo.ClientID("live-client"), kgo.Balancers(kgo.RangeBalancer()))
	go newConsumed().poll(ctx, "live", live)
	waitBalanced(t, ctx, adm, group, topic, 1, 2)

	// Simple commits (generation -1) to a group nobody joined; metadata
	// comes back as committed.
	commit := kadm.Offsets{}
	commit.Add(kadm.Offset{Topic: topic, Partition: 0, At: 7, LeaderEpoch: 0, Metadata: "checkpoint 7 ✓"})
	commit.Add(kadm.Offset{Topic: topic, Partition: 1, At: 3, LeaderEpoch: -1})
	commit.Add(kadm.Offset{Topic: other, Partition: 0, At: 1, LeaderEpoch: -1})
	resp, err := adm.CommitOffsets(ctx, simple, commit)
	if err != nil || resp.Error() != nil {
		t.Fatalf("CommitOffsets: %v / %v", err, resp.Error())
	}
	fetched, err := adm.FetchOffsets(ctx, simple)
	if err != nil || fetched.Error() != nil {
		t.Fatalf("FetchOffsets: %v / %v", err, fetched.Error())
	}
	if o, _ := fetched.Lookup(topic, 0); o.At != 7 || o.Metadata != "checkpoint 7 ✓" || o.LeaderEpoch != 0 {
		t.Errorf("fetched %+v, want offset 7, leader epoch 0 and the metadata committed", o.Offset)
	}
	if o, _ := fetched.Lookup(topic, 1); o.At != 3 || o.Metadata != "" {
		t.Errorf("fetched %+v, want offset 3 with empty metadata", o.Offset)
	}

	// A commit without a member to a group with members is refused; so is
	// one to a topic that does not exist.
	resp, err = adm.CommitOffsets(ctx, group, commit)
	if err != nil || !errors.Is(resp.Error(), kerr.UnknownMemberID) {
		t.Errorf("simple commit to a group with members: %v / %v, want UNKNOWN_MEMBER_ID", err, resp.Error())
	}
	missing := kadm.Offsets{}
	missing.Add(kadm.Offset{Topic: "no-such-topic", Partition: 0, At: 1, LeaderEpoch: -1})
	resp, err = adm.CommitOffsets(ctx, simple, missing)
	if err != nil || !errors.Is(resp.Error(), kerr.UnknownTopicOrPartition) {
		t.Errorf("commit to a missing topic: %v / %v, want UNKNOWN_TOPIC_OR_PARTITION", err, resp.Error())
	}

	listed, err := adm.ListGroups(ctx)
	if err != nil {
		t.Fatalf("ListGroups: %v", err)
	}
	if g, ok := listed[group]; !ok || g.State != "Stable" || g.ProtocolType != "consumer" {
		t.Errorf("ListGroups: %s is %+v, want a Stable consumer group", group, g)
	}
	if g, ok := listed[simple]; !ok || g.State != "Empty" {
		t.Errorf("ListGroups: %s is %+v, want Empty", simple, g)
	}
	if empties, err := adm.ListGroups(ctx, "Empty"); err != nil || len(empties) != 1 || empties[simple].Group != simple {
		t.Errorf("ListGroups(Empty) = %v, %v; want only %s", empties.Groups(), err, simple)
	}

	described, err := adm.DescribeGroups(ctx, group, "never-existed")
	if err != nil {
		t.Fatalf("DescribeGroups: %v", err)
	}
	d := described[group]
	if d.State != "Stable" || d.Protocol != "range" || len(d.Members) != 1 {
		t.Fatalf("described %+v, want Stable with the range protocol and one member", d)
	}
	m := d.Members[0]
	if m.ClientID != "live-client" || m.ClientHost != "/127.0.0.1" {
		t.Errorf("member client %q host %q, want live-client from /127.0.0.1", m.ClientID, m.ClientHost)
	}
	if meta, ok := m.Join.AsConsumer(); !ok || len(meta.Topics) != 1 || meta.Topics[0] != topic {
		t.Errorf("member subscription %+v, want [%s]", meta, topic)
	}
	if described["never-existed"].State != "Dead" {
		t.Errorf("a group that does not exist is described as %q, want Dead", described["never-existed"].State)
	}

	// OffsetDelete keeps the offsets of topics the live group subscribes
	// to, and deletes the simple group's.
	if _, err := adm.CommitOffsets(ctx, simple, commit); err != nil {
		t.Fatal(err)
	}
	dels, err := adm.DeleteOffsets(ctx, simple, kadm.TopicsSet{other: {0: {}}})
	if err != nil || dels.Error() != nil {
		t.Errorf("DeleteOffsets: %v / %v", err, dels.Error())
	}
	if fetched, err := adm.FetchOffsets(ctx, simple); err != nil {
		t.Errorf("FetchOffsets: %v", err)
	} else if _, ok := fetched.Lookup(other, 0); ok {
		t.Errorf("offset of %s survived DeleteOffsets", other)
	} else if _, ok := fetched.Lookup(topic, 0); !ok {
		t.Errorf("DeleteOffsets of %s deleted the offsets of %s too", other, topic)
	}
	dels, err = adm.DeleteOffsets(ctx, group, kadm.TopicsSet{topic: {0: {}}})
	if err != nil || !errors.Is(dels.Error(), kerr.GroupSubscribedToTopic) {
		t.Errorf("DeleteOffsets of a subscribed topic: %v / %v, want GROUP_SUBSCRIBED_TO_TOPIC", err, dels.Error())
	}

	// DeleteGroups refuses a group with members; once empty it goes, with
	// its offsets.
	deleted, err := adm.DeleteGroups(ctx, group, simple)
	if err != nil {
		t.Fatalf("DeleteGroups: %v", err)
	}
	if !errors.Is(deleted[group].Err, kerr.NonEmptyGroup) || deleted[simple].Err != nil {
		t.Errorf("DeleteGroups: %s → %v, %s → %v; want NON_EMPTY_GROUP and success", group, deleted[group].Err, simple, deleted[simple].Err)
	}
	live.Close()
	for {
		state, _, err := describeAssignment(ctx, adm, group, topic)
		if err == nil && state == "Empty" {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("group never became Empty after its member left: %s %v", state, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	deleted, err = adm.DeleteGroups(ctx, group)
	if err != nil || deleted[group].Err != nil {
		t.Fatalf("DeleteGroups of the empty group: %v / %v", err, deleted[group].Err)
	}
	listed, _ = adm.ListGroups(ctx)
	if len(listed) != 0 {
		t.Errorf("groups left after deleting them all: %v", listed.Groups())
	}
	if fetched, err := adm.FetchOffsets(ctx, simple); err != nil || len(fetched) != 0 {
		t.Errorf("offsets of a deleted group: %v, %v", fetched, err)
	}
	again, err := adm.DeleteGroups(ctx, simple)
	if err != nil || !errors.Is(again[simple].Err, kerr.GroupIDNotFound) {
		t.Errorf("deleting a deleted group: %v / %v, want GROUP_ID_NOT_FOUND", err, again[simple].Err)
	}
}
