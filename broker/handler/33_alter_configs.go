package handler

import (
	"context"

	"github.com/ordo-broker/ordo/broker/wire"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// AlterConfigs: v0-2
//
// Behaviour: replaces a topic's overrides with exactly the configs given
// (configs not named go back to their defaults, which is why
// IncrementalAlterConfigs exists); the new set is validated whole before
// anything changes. ValidateOnly changes nothing. Ordo's broker configs are
// static: altering a BROKER resource is INVALID_REQUEST.
//
// Version notes:
//   - v1: same as v0 (throttle behaviour, KIP-219)
//   - v2: flexible (KIP-482)
func init() { register(kmsg.AlterConfigs, 0, 2, (*Handlers).alterConfigs) }

func (h *Handlers) alterConfigs(_ context.Context, req *wire.Request) wire.Reply {
	r := req.Body.(*kmsg.AlterConfigsRequest)
	resp := r.ResponseKind().(*kmsg.AlterConfigsResponse)
	for _, rr := range r.Resources {
		sr := kmsg.NewAlterConfigsResponseResource()
		sr.ResourceType, sr.ResourceName = rr.ResourceType, rr.ResourceName
		err := errStaticBrokerConfigs
		if rr.ResourceType == kmsg.ConfigResourceTypeTopic {
			err = h.alterConfig(rr, r.ValidateOnly)
		}
		sr.ErrorCode = h.errorCode(err)
		sr.ErrorMessage = errorMessage(err)
		resp.Resources = append(resp.Resources, sr)
	}
	return ready(resp)
}

// alterConfig replaces one topic's overrides with rr's configs.
func (h *Handlers) alterConfig(rr kmsg.AlterConfigsRequestResource, validateOnly bool) error {
	overrides := map[string]string{}
	for _, c := range rr.Configs {
		if c.Value == nil {
			return nullConfigValue(c.Name)
		}
		overrides[c.Name] = *c.Value
	}
	return h.Controller.UpdateConfigs(rr.ResourceName, func(map[string]string) (map[string]string, error) {
		return overrides, nil
	}, validateOnly)
}
