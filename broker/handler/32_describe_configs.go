package handler

import (
	"context"
	"strconv"

	"github.com/ordo-broker/ordo/broker/topicconfig"
	"github.com/ordo-broker/ordo/broker/wire"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeConfigs: v1-4
//
// Behaviour: a TOPIC resource lists every topic config with its effective
// value and where it comes from (an override is DYNAMIC_TOPIC_CONFIG, else
// DEFAULT_CONFIG); a BROKER resource (named by this broker's id, or empty)
// lists the broker's static configs, read-only. ConfigNames filters; names
// Ordo does not know are left out, as Kafka leaves them out.
//
// Version notes:
//   - v1: IncludeSynonyms and Source (KIP-226)
//   - v2: same as v1 (throttle behaviour, KIP-219)
//   - v3: IncludeDocumentation, ConfigType (KIP-569)
//   - v4: flexible (KIP-482)
func init() { register(kmsg.DescribeConfigs, 1, 4, (*Handlers).describeConfigs) }

func (h *Handlers) describeConfigs(_ context.Context, req *wire.Request) wire.Reply {
	r := req.Body.(*kmsg.DescribeConfigsRequest)
	resp := r.ResponseKind().(*kmsg.DescribeConfigsResponse)
	im := h.Controller.Image()
	for _, rr := range r.Resources {
		sr := kmsg.NewDescribeConfigsResponseResource()
		sr.ResourceType, sr.ResourceName = rr.ResourceType, rr.ResourceName
		var entries []topicconfig.Entry
		switch rr.ResourceType {
		case kmsg.ConfigResourceTypeTopic:
			t, ok := im.Topics[rr.ResourceName]
			if !ok {
				sr.ErrorCode = kerr.UnknownTopicOrPartition.Code
				resp.Resources = append(resp.Resources, sr)
				continue
			}
			entries = topicconfig.Describe(t.Configs, rr.ConfigNames, r.IncludeSynonyms, r.IncludeDocumentation)
		case kmsg.ConfigResourceTypeBroker:
			if rr.ResourceName != "" && rr.ResourceName != strconv.Itoa(int(h.NodeID)) {
				sr.ErrorCode = kerr.InvalidRequest.Code
				msg := "broker " + rr.ResourceName + " is not this broker (" + strconv.Itoa(int(h.NodeID)) + ")"
				sr.ErrorMessage = &msg
				resp.Resources = append(resp.Resources, sr)
				continue
			}
			entries = topicconfig.DescribeBroker(h.BrokerConfigs, rr.ConfigNames, r.IncludeSynonyms, r.IncludeDocumentation)
		default:
			sr.ErrorCode = kerr.InvalidRequest.Code
			msg := "unsupported resource type " + rr.ResourceType.String()
			sr.ErrorMessage = &msg
			resp.Resources = append(resp.Resources, sr)
			continue
		}
		for _, e := range entries {
			c := kmsg.NewDescribeConfigsResponseResourceConfig()
			c.Name, c.Value, c.ReadOnly, c.IsDefault, c.IsSensitive = e.Name, e.Value, e.ReadOnly, e.Default, e.Sensitive
			c.Source = kmsg.ConfigSource(e.Source)
			c.ConfigType = kmsg.ConfigType(e.Type)
			c.Documentation = e.Documentation
			for _, s := range e.Synonyms {
				cs := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
				cs.Name, cs.Value, cs.Source = s.Name, s.Value, kmsg.ConfigSource(s.Source)
				c.ConfigSynonyms = append(c.ConfigSynonyms, cs)
			}
			sr.Configs = append(sr.Configs, c)
		}
		resp.Resources = append(resp.Resources, sr)
	}
	return ready(resp)
}
