package wire

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const apiVersionsKey = 18

// UnsupportedApiVersionsResponse is the answer to an ApiVersions request of
// a version the handler does not support (KIP-511): a v0 body (the one
// layout every client can read) with UNSUPPORTED_VERSION and key 18's
// supported range only, which is what Kafka sends. The client retries with
// the highest version in that range instead of falling back to v0 or giving
// up; kgo accepts the retry only if the entry for key 18 is the only one.
//
// wire sends it itself, so that no handler has to know about the quirk; the
// range comes from v.VersionRange(18), narrowed to what kmsg decodes.
func UnsupportedApiVersionsResponse(v VersionRanger) *kmsg.ApiVersionsResponse {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 0
	resp.ErrorCode = kerr.UnsupportedVersion.Code
	if lo, hi, ok := supportedRange(v, kmsg.NewPtrApiVersionsRequest()); ok {
		k := kmsg.NewApiVersionsResponseApiKey()
		k.ApiKey, k.MinVersion, k.MaxVersion = apiVersionsKey, lo, hi
		resp.ApiKeys = append(resp.ApiKeys, k)
	}
	return resp
}
