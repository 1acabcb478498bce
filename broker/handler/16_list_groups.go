package handler

import (
	"context"

	"github.com/ordo-broker/ordo/broker/group"
	"github.com/ordo-broker/ordo/broker/wire"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ListGroups: v0-4
//
// Behaviour:
//   - every group this broker coordinates, with its protocol type
//   - COORDINATOR_LOAD_IN_PROGRESS while a partition of __consumer_offsets
//     is loading; the groups of the loaded ones are listed anyway
//
// Version notes:
//   - v1: ThrottleMillis
//   - v3: flexible (KIP-482)
//   - v4: StatesFilter and GroupState (KIP-518); state names compare
//     without case, unknown ones match nothing
func init() { register(kmsg.ListGroups, 0, 4, (*Handlers).listGroups) }

func (h *Handlers) listGroups(_ context.Context, req *wire.Request) wire.Reply {
	r := req.Body.(*kmsg.ListGroupsRequest)
	resp := r.ResponseKind().(*kmsg.ListGroupsResponse)
	var states []group.State
	for _, s := range r.StatesFilter {
		if st, ok := group.ParseState(s); ok {
			states = append(states, st)
		}
	}
	if len(r.StatesFilter) > 0 && len(states) == 0 {
		return ready(resp) // only unknown states: nothing matches
	}
	groups, err := h.Groups.List(states)
	resp.ErrorCode = h.errorCode(err)
	for _, g := range groups {
		lg := kmsg.NewListGroupsResponseGroup()
		lg.Group, lg.ProtocolType, lg.GroupState = g.Group, g.ProtocolType, g.State.String()
		resp.Groups = append(resp.Groups, lg)
	}
	return ready(resp)
}
