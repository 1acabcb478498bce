package handler

import (
	"context"
	"net"

	"github.com/ordo-broker/ordo/broker/group"
	"github.com/ordo-broker/ordo/broker/wire"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// JoinGroup: v0-9
//
// Behaviour:
//   - the request is registered with the group at once (in the order the
//     connection sent it) and answered when the join phase ends: every
//     member that rejoined gets the new generation, the leader gets the
//     members and their metadata (broker/group has the state machine)
//   - the protocol is the one every member supports with the most votes
//     (each member votes for its first choice among those), as Kafka
//   - the first rebalance of a new group waits
//     group.initial.rebalance.delay.ms for more members (KIP-134)
//   - a session timeout outside group.min/max.session.timeout.ms:
//     INVALID_SESSION_TIMEOUT; another protocol type or no common protocol:
//     INCONSISTENT_GROUP_PROTOCOL; an unknown member id: UNKNOWN_MEMBER_ID
//
// Version notes:
//   - v1: RebalanceTimeoutMillis (v0 uses the session timeout) (KIP-62)
//   - v2: ThrottleMillis
//   - v4: an empty member id gets MEMBER_ID_REQUIRED with the id to rejoin
//     with (KIP-394)
//   - v5: InstanceID, static membership (KIP-345)
//   - v6: flexible (KIP-482)
//   - v7: ProtocolType in the response and nullable Protocol (KIP-559)
//   - v8: Reason (KIP-800), logged nowhere
//   - v9: SkipAssignment for a static leader that rejoined (KIP-814)
func init() { register(kmsg.JoinGroup, 0, 9, (*Handlers).joinGroup) }

func (h *Handlers) joinGroup(ctx context.Context, req *wire.Request) wire.Reply {
	r := req.Body.(*kmsg.JoinGroupRequest)
	jr := group.JoinRequest{
		Group:              r.Group,
		MemberID:           r.MemberID,
		InstanceID:         r.InstanceID,
		ProtocolType:       r.ProtocolType,
		SessionTimeoutMs:   r.SessionTimeoutMillis,
		RebalanceTimeoutMs: r.RebalanceTimeoutMillis,
		ClientID:           clientID(req),
		ClientHost:         clientHost(req),
		Version:            r.Version,
	}
	for _, p := range r.Protocols {
		jr.Protocols = append(jr.Protocols, group.Protocol{Name: p.Name, Metadata: p.Metadata})
	}
	pending := h.Groups.Join(jr)
	return wire.Later(func() (kmsg.Response, error) {
		rep, err := pending.Wait(ctx)
		if err != nil {
			return nil, err // the connection is closing
		}
		resp := r.ResponseKind().(*kmsg.JoinGroupResponse)
		res := rep.Join
		if rep.Err != nil || res == nil {
			res = &group.JoinResult{Err: rep.Err, MemberID: r.MemberID}
		}
		resp.ErrorCode = h.errorCode(res.Err)
		resp.Generation = res.Generation
		if res.Err != nil && res.Generation == 0 {
			resp.Generation = -1
		}
		resp.ProtocolType, resp.Protocol = res.ProtocolType, res.Protocol
		resp.LeaderID, resp.MemberID = res.Leader, res.MemberID
		resp.SkipAssignment = res.SkipAssignment
		for _, m := range res.Members {
			rm := kmsg.NewJoinGroupResponseMember()
			rm.MemberID, rm.InstanceID, rm.ProtocolMetadata = m.MemberID, m.InstanceID, m.Metadata
			resp.Members = append(resp.Members, rm)
		}
		return resp, nil
	})
}

func clientID(req *wire.Request) string {
	if req.ClientID == nil {
		return ""
	}
	return *req.ClientID
}

// clientHost is the member's address as Kafka reports it
// (InetAddress.toString: "/127.0.0.1").
func clientHost(req *wire.Request) string {
	if req.Conn.Remote == nil {
		return ""
	}
	host, _, err := net.SplitHostPort(req.Conn.Remote.String())
	if err != nil {
		host = req.Conn.Remote.String()
	}
	return "/" + host
}
