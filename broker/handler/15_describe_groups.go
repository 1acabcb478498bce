package handler

import (
	"context"

	"github.com/ordo-broker/ordo/broker/wire"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeGroups: v0-5
//
// Behaviour:
//   - state, protocol type, members with client id and host; the chosen
//     protocol and each member's metadata and assignment only when the
//     group is Stable, as Kafka
//   - a group that does not exist is described as Dead, without an error
//     (GROUP_ID_NOT_FOUND only comes with v6, not served)
//   - authorized operations are not computed (no ACLs): left at the default
//
// Version notes:
//   - v1: ThrottleMillis
//   - v3: AuthorizedOperations (KIP-430)
//   - v4: InstanceID of members (KIP-345)
//   - v5: flexible (KIP-482)
func init() { register(kmsg.DescribeGroups, 0, 5, (*Handlers).describeGroups) }

func (h *Handlers) describeGroups(_ context.Context, req *wire.Request) wire.Reply {
	r := req.Body.(*kmsg.DescribeGroupsRequest)
	resp := r.ResponseKind().(*kmsg.DescribeGroupsResponse)
	for _, id := range r.Groups {
		sg := kmsg.NewDescribeGroupsResponseGroup()
		sg.Group = id
		d, err := h.Groups.Describe(id)
		if err != nil {
			sg.ErrorCode = h.errorCode(err)
			resp.Groups = append(resp.Groups, sg)
			continue
		}
		sg.State, sg.ProtocolType, sg.Protocol = d.State.String(), d.ProtocolType, d.Protocol
		for _, m := range d.Members {
			sm := kmsg.NewDescribeGroupsResponseGroupMember()
			sm.MemberID, sm.InstanceID, sm.ClientID, sm.ClientHost = m.MemberID, m.InstanceID, m.ClientID, m.ClientHost
			sm.ProtocolMetadata, sm.MemberAssignment = nonNil(m.Metadata), nonNil(m.Assignment)
			sg.Members = append(sg.Members, sm)
		}
		resp.Groups = append(resp.Groups, sg)
	}
	return ready(resp)
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
