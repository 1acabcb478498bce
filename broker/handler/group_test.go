package handler_test

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ordo-broker/ordo/broker"
	"github.com/ordo-broker/ordo/broker/ordotest"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

func groupBroker(t *testing.T) *ordotest.Broker {
	return ordotest.Start(t, ordotest.WithConfig(func(c *broker.Config) {
		c.OffsetsTopicPartitions = 3
		c.GroupInitialRebalanceDelay = 0
		c.GroupMinSessionTimeout = 100 * time.Millisecond
	}))
}

// clientAt is a client that sends key at version v at most.
func clientAt(t *testing.T, b *ordotest.Broker, key, v int16) *kgo.Client {
	versions := kversion.Stable()
	versions.SetMaxKeyVersion(key, v)
	return client(t, b, kgo.MaxVersions(versions), kgo.ClientID("handler-test"))
}

func TestFindCoordinator(t *testing.T) {
	b := groupBroker(t)
	cl := client(t, b)

	req := kmsg.NewPtrFindCoordinatorRequest()
	req.CoordinatorKeys = []string{"g1", "g2"}
	resp, err := req.RequestWith(ctx(t), cl)
	require.NoError(t, err)
	require.Len(t, resp.Coordinators, 2)
	for _, c := range resp.Coordinators {
		require.Zero(t, c.ErrorCode, "key %s", c.Key)
		require.Equal(t, b.NodeID(), c.NodeID)
		require.Equal(t, b.Addr(), net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port))))
	}

	// The topic was created on the first request, internal and compacted.
	md := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr("__consumer_offsets")
	md.Topics = append(md.Topics, mt)
	mresp, err := md.RequestWith(ctx(t), cl)
	require.NoError(t, err)
	require.True(t, mresp.Topics[0].IsInternal)
	require.Len(t, mresp.Topics[0].Partitions, 3)

	// Transactions are not served; unknown key types are invalid.
	req.CoordinatorType = 1
	resp, err = req.RequestWith(ctx(t), cl)
	require.NoError(t, err)
	require.Equal(t, kerr.CoordinatorNotAvailable.Code, resp.Coordinators[0].ErrorCode)
	req.CoordinatorType = 7
	resp, err = req.RequestWith(ctx(t), cl)
	require.NoError(t, err)
	require.Equal(t, kerr.InvalidRequest.Code, resp.Coordinators[0].ErrorCode)

	// v3 and below: one key, the answer at the top level.
	old := kmsg.NewPtrFindCoordinatorRequest()
	old.CoordinatorKey = "g1"
	oresp, err := old.RequestWith(ctx(t), clientAt(t, b, 10, 2))
	require.NoError(t, err)
	require.Zero(t, oresp.ErrorCode)
	require.Equal(t, b.NodeID(), oresp.NodeID)
}

func join(t *testing.T, cl *kgo.Client, group, member string, sessionMs int32) *kmsg.JoinGroupResponse {
	t.Helper()
	req := kmsg.NewPtrJoinGroupRequest()
	req.Group, req.MemberID, req.ProtocolType = group, member, "consumer"
	req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = sessionMs, 5000
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = []string{"t"}
	req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: meta.AppendTo(nil)}}
	resp, err := req.RequestWith(ctx(t), cl)
	require.NoError(t, err)
	return resp
}

func TestJoinGroupVersions(t *testing.T) {
	b := groupBroker(t)

	// v4+: an empty member id gets MEMBER_ID_REQUIRED and an id made of
	// the client id and a UUID.
	cl := client(t, b, kgo.ClientID("handler-test"))
	resp := join(t, cl, "g4", "", 10000)
	require.Equal(t, kerr.MemberIDRequired.Code, resp.ErrorCode)
	require.True(t, strings.HasPrefix(resp.MemberID, "handler-test-"), resp.MemberID)
	require.Len(t, resp.MemberID, len("handler-test-")+36)
	id := resp.MemberID
	resp = join(t, cl, "g4", id, 10000)
	require.Zero(t, resp.ErrorCode)
	require.Equal(t, int32(1), resp.Generation)
	require.Equal(t, id, resp.LeaderID)
	require.Len(t, resp.Members, 1)
	require.Equal(t, "range", *resp.Protocol)

	// v3 and v0: no MEMBER_ID_REQUIRED round trip.
	for _, v := range []int16{3, 0} {
		resp = join(t, clientAt(t, b, 11, v), "old-"+strconv.Itoa(int(v)), "", 10000)
		require.Zero(t, resp.ErrorCode, "v%d", v)
		require.Equal(t, int32(1), resp.Generation, "v%d", v)
		require.Equal(t, "range", *resp.Protocol, "v%d", v)
	}

	// Session timeouts outside the broker's bounds; unknown members.
	resp = join(t, cl, "g4", "", 50)
	require.Equal(t, kerr.InvalidSessionTimeout.Code, resp.ErrorCode)
	resp = join(t, cl, "nobody-here", "made-up", 10000)
	require.Equal(t, kerr.UnknownMemberID.Code, resp.ErrorCode)

	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Group, hb.MemberID, hb.Generation = "nobody-here", "made-up", 1
	hresp, err := hb.RequestWith(ctx(t), cl)
	require.NoError(t, err)
	require.Equal(t, kerr.UnknownMemberID.Code, hresp.ErrorCode)
}

func commitReq(group string, gen int32, member, topic string) *kmsg.OffsetCommitRequest {
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group, req.Generation, req.MemberID = group, gen, member
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset, rp.LeaderEpoch, rp.Metadata = 0, 12, 4, kmsg.StringPtr("meta")
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

func TestOffsetCommitAndFetch(t *testing.T) {
	b := groupBroker(t)
	cl := client(t, b)
	createTopic(t, cl, "t", 2, nil)

	code := func(cl *kgo.Client, req *kmsg.OffsetCommitRequest) int16 {
		t.Helper()
		resp, err := req.RequestWith(ctx(t), cl)
		require.NoError(t, err)
		return resp.Topics[0].Partitions[0].ErrorCode
	}
	require.Equal(t, kerr.UnknownTopicOrPartition.Code, code(cl, commitReq("g", -1, "", "missing")))
	require.Equal(t, kerr.InvalidGroupID.Code, code(cl, commitReq("", -1, "", "t")))
	// A member's commit to a group that does not exist.
	require.Equal(t, kerr.GroupIDNotFound.Code, code(clientAt(t, b, 8, 9), commitReq("none", 3, "m", "t")))
	require.Equal(t, kerr.IllegalGeneration.Code, code(clientAt(t, b, 8, 8), commitReq("none", 3, "m", "t")))
	// Simple commits at the oldest version served.
	require.Zero(t, code(clientAt(t, b, 8, 2), commitReq("simple", -1, "", "t")))
	require.Zero(t, code(cl, commitReq("simple2", -1, "", "t")))

	// v1: explicit partitions; nothing committed is -1, not an error.
	f1 := kmsg.NewPtrOffsetFetchRequest()
	f1.Group = "simple"
	ft := kmsg.NewOffsetFetchRequestTopic()
	ft.Topic, ft.Partitions = "t", []int32{0, 1}
	f1.Topics = append(f1.Topics, ft)
	r1, err := f1.RequestWith(ctx(t), clientAt(t, b, 9, 1))
	require.NoError(t, err)
	require.Equal(t, int64(12), r1.Topics[0].Partitions[0].Offset)
	require.Equal(t, "meta", *r1.Topics[0].Partitions[0].Metadata)
	require.Equal(t, int64(-1), r1.Topics[0].Partitions[1].Offset)
	require.Zero(t, r1.Topics[0].Partitions[1].ErrorCode)

	// v5: null topics = every committed partition, with the leader epoch
	// (v2 commits had none: -1).
	f5 := kmsg.NewPtrOffsetFetchRequest()
	f5.Group = "simple2"
	r5, err := f5.RequestWith(ctx(t), clientAt(t, b, 9, 5))
	require.NoError(t, err)
	require.Len(t, r5.Topics, 1)
	require.Equal(t, int32(4), r5.Topics[0].Partitions[0].LeaderEpoch)

	// v8: several groups at once.
	f8 := kmsg.NewPtrOffsetFetchRequest()
	for _, g := range []string{"simple", "simple2", "none"} {
		rg := kmsg.NewOffsetFetchRequestGroup()
		rg.Group = g
		f8.Groups = append(f8.Groups, rg)
	}
	r8, err := f8.RequestWith(ctx(t), cl)
	require.NoError(t, err)
	require.Len(t, r8.Groups, 3)
	require.Equal(t, int32(-1), r8.Groups[0].Topics[0].Partitions[0].LeaderEpoch)
	require.Equal(t, int32(4), r8.Groups[1].Topics[0].Partitions[0].LeaderEpoch)
	require.Empty(t, r8.Groups[2].Topics)
}

func TestListGroupsStatesFilter(t *testing.T) {
	b := groupBroker(t)
	cl := client(t, b)
	createTopic(t, cl, "t", 1, nil)
	resp, err := commitReq("empty-group", -1, "", "t").RequestWith(ctx(t), cl)
	require.NoError(t, err)
	require.Zero(t, resp.Topics[0].Partitions[0].ErrorCode)

	list := func(states ...string) []string {
		req := kmsg.NewPtrListGroupsRequest()
		req.StatesFilter = states
		resp, err := req.RequestWith(ctx(t), cl)
		require.NoError(t, err)
		require.Zero(t, resp.ErrorCode)
		var out []string
		for _, g := range resp.Groups {
			out = append(out, g.Group+"/"+g.GroupState)
		}
		return out
	}
	require.Equal(t, []string{"empty-group/Empty"}, list())
	require.Equal(t, []string{"empty-group/Empty"}, list("EMPTY"))
	require.Empty(t, list("Stable"))
	require.Empty(t, list("NoSuchState"))
}

// Closing the broker while a JoinGroup is parked neither hangs nor leaves
// the request unanswered forever.
func TestParkedJoinDoesNotHoldUpShutdown(t *testing.T) {
	b := groupBroker(t)
	cl := client(t, b)
	first := join(t, cl, "g", "", 10000)
	first = join(t, cl, "g", first.MemberID, 10000)
	require.Zero(t, first.ErrorCode)
	// A second member's join now waits up to 5s for the first to rejoin.
	second := join(t, cl, "g", "", 10000)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		req := kmsg.NewPtrJoinGroupRequest()
		req.Group, req.MemberID, req.ProtocolType = "g", second.MemberID, "consumer"
		req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 10000, 60000
		req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte{0, 0, 0, 0, 0, 0}}}
		_, _ = req.RequestWith(c, cl)
	}()
	for { // until the join is parked: the group waits for the first member
		d := kmsg.NewPtrDescribeGroupsRequest()
		d.Groups = []string{"g"}
		resp, err := d.RequestWith(ctx(t), cl)
		require.NoError(t, err)
		if resp.Groups[0].State == "PreparingRebalance" {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	require.NoError(t, b.Close())
	require.Less(t, time.Since(start), 5*time.Second)
	cl.Close()
	<-done
}
