package handler

import (
	"context"

	"github.com/ordo-broker/ordo/broker/topicconfig"
	"github.com/ordo-broker/ordo/broker/wire"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// IncrementalAlterConfigs: v0-1 (KIP-339)
//
// Behaviour: applies SET, DELETE, APPEND and SUBTRACT operations to a
// topic's current overrides (APPEND and SUBTRACT only for list configs such
// as cleanup.policy), validates the result whole, then stores it.
// ValidateOnly changes nothing. Broker configs are static: INVALID_REQUEST.
//
// Version notes:
//   - v1: flexible (KIP-482)
func init() { register(kmsg.IncrementalAlterConfigs, 0, 1, (*Handlers).incrementalAlterConfigs) }

func (h *Handlers) incrementalAlterConfigs(_ context.Context, req *wire.Request) wire.Reply {
	r := req.Body.(*kmsg.IncrementalAlterConfigsRequest)
	resp := r.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	for _, rr := range r.Resources {
		sr := kmsg.NewIncrementalAlterConfigsResponseResource()
		sr.ResourceType, sr.ResourceName = rr.ResourceType, rr.ResourceName
		err := errStaticBrokerConfigs
		if rr.ResourceType == kmsg.ConfigResourceTypeTopic {
			err = h.incrementalAlter(rr, r.ValidateOnly)
		}
		sr.ErrorCode = h.errorCode(err)
		sr.ErrorMessage = errorMessage(err)
		resp.Resources = append(resp.Resources, sr)
	}
	return ready(resp)
}

func (h *Handlers) incrementalAlter(rr kmsg.IncrementalAlterConfigsRequestResource, validateOnly bool) error {
	ops := make([]topicconfig.AlterOp, len(rr.Configs))
	for i, c := range rr.Configs {
		ops[i] = topicconfig.AlterOp{Name: c.Name, Op: int8(c.Op), Value: c.Value}
	}
	return h.Controller.UpdateConfigs(rr.ResourceName, func(current map[string]string) (map[string]string, error) {
		return topicconfig.ApplyIncremental(current, ops)
	}, validateOnly)
}
