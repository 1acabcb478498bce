package handler

import (
	"context"

	"github.com/ordo-broker/ordo/broker/wire"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// CreatePartitions: v0-3
//
// Behaviour: each topic grows to Count partitions and is answered on its
// own; a count that does not grow the topic is INVALID_PARTITIONS, a topic
// named twice is INVALID_REQUEST, ValidateOnly creates nothing.
//
// Version notes:
//   - v1: same as v0 (throttle behaviour, KIP-219)
//   - v2: flexible (KIP-482)
//   - v3: same as v2
func init() { register(kmsg.CreatePartitions, 0, 3, (*Handlers).createPartitions) }

func (h *Handlers) createPartitions(_ context.Context, req *wire.Request) wire.Reply {
	r := req.Body.(*kmsg.CreatePartitionsRequest)
	resp := r.ResponseKind().(*kmsg.CreatePartitionsResponse)
	seen := map[string]int{}
	for _, rt := range r.Topics {
		seen[rt.Topic]++
	}
	for _, rt := range r.Topics {
		st := kmsg.NewCreatePartitionsResponseTopic()
		st.Topic = rt.Topic
		if seen[rt.Topic] > 1 {
			st.ErrorCode = kerr.InvalidRequest.Code
			msg := "Duplicate topic in request: " + rt.Topic
			st.ErrorMessage = &msg
			resp.Topics = append(resp.Topics, st)
			continue
		}
		var assignment [][]int32
		for _, a := range rt.Assignment {
			assignment = append(assignment, a.Replicas)
		}
		if err := h.Controller.CreatePartitions(rt.Topic, rt.Count, assignment, r.ValidateOnly); err != nil {
			st.ErrorCode = h.errorCode(err)
			st.ErrorMessage = errorMessage(err)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return ready(resp)
}
