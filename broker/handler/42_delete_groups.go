package handler

import (
	"context"

	"github.com/ordo-broker/ordo/broker/group"
	"github.com/ordo-broker/ordo/broker/wire"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DeleteGroups: v0-2
//
// Behaviour:
//   - only a group without members may go (NON_EMPTY_GROUP otherwise;
//     GROUP_ID_NOT_FOUND if there is none): tombstones for its offsets and
//     its group record are written to __consumer_offsets, and the answer
//     waits until they are committed
//
// Version notes:
//   - v1: ThrottleMillis after the response (KIP-219)
//   - v2: flexible (KIP-482)
func init() { register(kmsg.DeleteGroups, 0, 2, (*Handlers).deleteGroups) }

func (h *Handlers) deleteGroups(ctx context.Context, req *wire.Request) wire.Reply {
	r := req.Body.(*kmsg.DeleteGroupsRequest)
	pending := make([]*group.Pending, len(r.Groups))
	for i, id := range r.Groups {
		pending[i] = h.Groups.DeleteGroup(id)
	}
	return wire.Later(func() (kmsg.Response, error) {
		resp := r.ResponseKind().(*kmsg.DeleteGroupsResponse)
		for i, id := range r.Groups {
			rep, err := pending[i].Wait(ctx)
			if err != nil {
				return nil, err
			}
			sg := kmsg.NewDeleteGroupsResponseGroup()
			sg.Group, sg.ErrorCode = id, h.errorCode(rep.Err)
			resp.Groups = append(resp.Groups, sg)
		}
		return resp, nil
	})
}
