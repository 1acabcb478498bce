package wire

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Errors from ParseRequest. Every one of them but ErrApiVersionsFallback
// means the connection must be closed, which is what Kafka does: after a
// request it cannot serve, a broker has nothing it could answer.
var (
	// ErrUnknownKey: kmsg does not know the key, or the handler does not
	// implement it.
	ErrUnknownKey = errors.New("wire: unknown or unimplemented api key")
	// ErrUnsupportedVersion: the version is outside the handler's range.
	ErrUnsupportedVersion = errors.New("wire: unsupported api version")
	// ErrMalformedBody: kmsg could not decode the body.
	ErrMalformedBody = errors.New("wire: malformed request body")
	// ErrApiVersionsFallback: an ApiVersions request of a version the
	// handler does not support (KIP-511). ParseRequest returns it with a
	// Request holding the header fields and a nil Body (the body of an
	// unknown version cannot be decoded). The caller answers it with
	// UnsupportedApiVersionsResponse at version 0, header v0, and keeps the
	// connection open.
	ErrApiVersionsFallback = errors.New("wire: unsupported ApiVersions version (KIP-511)")
)

// VersionRanger is the part of Handler that parsing needs.
type VersionRanger interface {
	VersionRange(key int16) (min, max int16, ok bool)
}

// ParseRequest parses one frame (without its size prefix): the request header
// (v1, or v2 for flexible versions, KIP-482), then the body with kmsg at the
// request's version. It is the whole of what wire does with client bytes
// before a handler sees them, and it is what both the connection loop and
// FuzzRequest call.
//
// Order of checks, as in Kafka: unknown or unimplemented key, header, version.
// The version is checked after the header so that an ApiVersions request of
// an unknown version still yields its correlation id (KIP-511).
//
// Bytes after a well-formed body are ignored, as kmsg ignores them.
// ParseRequest must not panic on any input; FuzzRequest checks that.
func ParseRequest(frame []byte, v VersionRanger) (*Request, error) {
	key, version, ok := peekKeyVersion(frame)
	if !ok {
		return nil, ErrMalformedHeader
	}
	body := kmsg.RequestForKey(key)
	if body == nil {
		return nil, fmt.Errorf("%w: key %d", ErrUnknownKey, key)
	}
	lo, hi, ok := supportedRange(v, body)
	if !ok {
		return nil, fmt.Errorf("%w: key %d", ErrUnknownKey, key)
	}
	// IsFlexible is a plain comparison on the version, so it is meaningful
	// for any version, including ones kmsg does not know; for ApiVersions
	// that is also what Kafka does to find the header of an unknown
	// version.
	body.SetVersion(version)
	h, rest, err := parseHeader(frame, headerVersion(key, version, body.IsFlexible()))
	if err != nil {
		return nil, fmt.Errorf("key %d version %d: %w", key, version, err)
	}
	req := &Request{Key: key, Version: version, CorrelationID: h.corr, ClientID: h.clientID}
	if version < lo || version > hi {
		if key == apiVersionsKey {
			return req, ErrApiVersionsFallback
		}
		return nil, fmt.Errorf("%w: key %d version %d (supported %d-%d)", ErrUnsupportedVersion, key, version, lo, hi)
	}
	// kmsg (from v1.15.1) stops its tagged-field loops at the end of the
	// input and checks an array count against the bytes left (for an
	// array of structs, times the smallest encoding of one), so a
	// malformed body fails in time linear in its length; kmsg v1.15.0
	// spent a minute failing on a 19-byte request. Before it fails, it
	// may allocate an array's elements, a few tens of times the body (32
	// for Fetch's topics), about what a well-formed body of that size
	// costs. See kmsg_regress_test.go.
	if err := body.ReadFrom(rest); err != nil {
		return nil, fmt.Errorf("%w: key %d version %d: %v", ErrMalformedBody, key, version, err)
	}
	req.Body = body
	return req, nil
}

// supportedRange is the handler's range for a key narrowed to what kmsg can
// decode, so that a handler cannot make wire accept bytes nobody can read.
func supportedRange(v VersionRanger, body kmsg.Request) (lo, hi int16, ok bool) {
	lo, hi, ok = v.VersionRange(body.Key())
	lo = max(lo, 0)
	hi = min(hi, body.MaxVersion())
	if !ok || lo > hi {
		return 0, 0, false
	}
	return lo, hi, true
}
