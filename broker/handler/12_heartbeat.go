package handler

import (
	"context"

	"github.com/ordo-broker/ordo/broker/group"
	"github.com/ordo-broker/ordo/broker/wire"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Heartbeat: v0-4
//
// Behaviour:
//   - restarts the member's session timeout
//   - REBALANCE_IN_PROGRESS while the group prepares a rebalance: the
//     member must rejoin; ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID,
//     FENCED_INSTANCE_ID fence members that are out of date
//
// Version notes:
//   - v1: ThrottleMillis
//   - v3: InstanceID (KIP-345)
//   - v4: flexible (KIP-482)
func init() { register(kmsg.Heartbeat, 0, 4, (*Handlers).heartbeat) }

func (h *Handlers) heartbeat(_ context.Context, req *wire.Request) wire.Reply {
	r := req.Body.(*kmsg.HeartbeatRequest)
	resp := r.ResponseKind().(*kmsg.HeartbeatResponse)
	err := h.Groups.Heartbeat(group.HeartbeatRequest{
		Group: r.Group, MemberID: r.MemberID, InstanceID: r.InstanceID, Generation: r.Generation,
	})
	resp.ErrorCode = h.errorCode(err)
	return ready(resp)
}
