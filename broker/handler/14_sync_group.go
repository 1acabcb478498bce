package handler

import (
	"context"

	"github.com/ordo-broker/ordo/broker/group"
	"github.com/ordo-broker/ordo/broker/wire"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// SyncGroup: v0-5
//
// Behaviour:
//   - followers wait for the leader; the leader's assignment is written to
//     __consumer_offsets (a GroupMetadata record) and every member gets
//     its part once the write is committed
//   - a member the leader left out gets an empty assignment
//   - REBALANCE_IN_PROGRESS during a rebalance (rejoin), ILLEGAL_GENERATION
//     for another generation, UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID
//
// Version notes:
//   - v1: ThrottleMillis
//   - v3: InstanceID (KIP-345)
//   - v4: flexible (KIP-482)
//   - v5: ProtocolType and Protocol, checked against the group's
//     (INCONSISTENT_GROUP_PROTOCOL) and returned (KIP-559)
func init() { register(kmsg.SyncGroup, 0, 5, (*Handlers).syncGroup) }

func (h *Handlers) syncGroup(ctx context.Context, req *wire.Request) wire.Reply {
	r := req.Body.(*kmsg.SyncGroupRequest)
	sr := group.SyncRequest{
		Group:        r.Group,
		MemberID:     r.MemberID,
		InstanceID:   r.InstanceID,
		Generation:   r.Generation,
		ProtocolType: r.ProtocolType,
		Protocol:     r.Protocol,
	}
	for _, a := range r.GroupAssignment {
		sr.Assignments = append(sr.Assignments, group.Assignment{MemberID: a.MemberID, Assignment: a.MemberAssignment})
	}
	pending := h.Groups.Sync(sr)
	return wire.Later(func() (kmsg.Response, error) {
		rep, err := pending.Wait(ctx)
		if err != nil {
			return nil, err
		}
		resp := r.ResponseKind().(*kmsg.SyncGroupResponse)
		res := rep.Sync
		if rep.Err != nil || res == nil {
			res = &group.SyncResult{Err: rep.Err}
		}
		resp.ErrorCode = h.errorCode(res.Err)
		resp.ProtocolType, resp.Protocol = res.ProtocolType, res.Protocol
		resp.MemberAssignment = res.Assignment
		if resp.MemberAssignment == nil {
			resp.MemberAssignment = []byte{}
		}
		return resp, nil
	})
}
