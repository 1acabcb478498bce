package handler

import (
	"context"

	"github.com/ordo-broker/ordo/broker/group"
	"github.com/ordo-broker/ordo/broker/wire"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// LeaveGroup: v0-5
//
// Behaviour:
//   - the members leave at once and the group rebalances without them
//   - each member has its own error (UNKNOWN_MEMBER_ID,
//     FENCED_INSTANCE_ID); the top-level error is the whole request's
//     (NOT_COORDINATOR, ...), or before v3 the single member's
//
// Version notes:
//   - v1: ThrottleMillis
//   - v3: batched Members; a static member may be named by InstanceID
//     alone (KIP-345)
//   - v4: flexible (KIP-482)
//   - v5: Reason per member (KIP-800)
func init() { register(kmsg.LeaveGroup, 0, 5, (*Handlers).leaveGroup) }

func (h *Handlers) leaveGroup(_ context.Context, req *wire.Request) wire.Reply {
	r := req.Body.(*kmsg.LeaveGroupRequest)
	resp := r.ResponseKind().(*kmsg.LeaveGroupResponse)
	var members []group.LeaveMember
	if r.Version < 3 {
		members = []group.LeaveMember{{MemberID: r.MemberID}}
	} else {
		for _, m := range r.Members {
			members = append(members, group.LeaveMember{MemberID: m.MemberID, InstanceID: m.InstanceID})
		}
	}
	results, err := h.Groups.Leave(r.Group, members)
	if err != nil {
		resp.ErrorCode = h.errorCode(err)
		return ready(resp)
	}
	if r.Version < 3 {
		resp.ErrorCode = h.errorCode(results[0].Err)
		return ready(resp)
	}
	for _, res := range results {
		m := kmsg.NewLeaveGroupResponseMember()
		m.MemberID, m.InstanceID, m.ErrorCode = res.MemberID, res.InstanceID, h.errorCode(res.Err)
		resp.Members = append(resp.Members, m)
	}
	return ready(resp)
}
