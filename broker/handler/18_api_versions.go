package handler

import (
	"context"
	"regexp"

	"github.com/ordo-broker/ordo/broker/wire"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ApiVersions: v0-4
//
// The key table is built from the registry, so only what is implemented is
// advertised: kgo and kafkajs jump straight to the highest version both
// sides know.
//
// Version notes:
//   - v1: ThrottleMillis
//   - v3: flexible (KIP-482); ClientSoftwareName and ClientSoftwareVersion
//     (KIP-511), validated: an invalid one gets INVALID_REQUEST
//   - v3+: SupportedFeatures, FinalizedFeatures (KIP-584): none advertised
//
// A request of a version above 4 never reaches this handler: wire answers it
// with a v0 body carrying UNSUPPORTED_VERSION and key 18's range (KIP-511).
func init() { register(kmsg.ApiVersions, 0, 4, (*Handlers).apiVersions) }

// softwareName is KIP-511's pattern for client software names and versions.
var softwareName = regexp.MustCompile(`^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$`)

func (h *Handlers) apiVersions(_ context.Context, req *wire.Request) wire.Reply {
	r := req.Body.(*kmsg.ApiVersionsRequest)
	resp := r.ResponseKind().(*kmsg.ApiVersionsResponse)
	if r.Version >= 3 && (!softwareName.MatchString(r.ClientSoftwareName) || !softwareName.MatchString(r.ClientSoftwareVersion)) {
		resp.ErrorCode = kerr.InvalidRequest.Code
		return ready(resp)
	}
	resp.ApiKeys = apiKeys()
	return ready(resp)
}

func apiKeys() []kmsg.ApiVersionsResponseApiKey {
	var keys []kmsg.ApiVersionsResponseApiKey
	for k, e := range registry {
		if e.fn == nil {
			continue
		}
		ak := kmsg.NewApiVersionsResponseApiKey()
		ak.ApiKey, ak.MinVersion, ak.MaxVersion = int16(k), e.min, e.max
		keys = append(keys, ak)
	}
	return keys
}
