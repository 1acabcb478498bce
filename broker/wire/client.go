package wire

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// The client side of the framing, for tests and tools that speak to a
// broker byte by byte (real clients use kgo).

// AppendRequest appends req as a client frames it: size, request header (v1,
// v2 for flexible versions, KIP-482) and body at req's version. clientID nil
// is sent as a null string.
func AppendRequest(dst []byte, req kmsg.Request, corr int32, clientID *string) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	key, version := req.Key(), req.GetVersion()
	dst = binary.BigEndian.AppendUint16(dst, uint16(key))
	dst = binary.BigEndian.AppendUint16(dst, uint16(version))
	dst = binary.BigEndian.AppendUint32(dst, uint32(corr))
	hv := headerVersion(key, version, req.IsFlexible())
	if hv >= 1 {
		if clientID == nil {
			dst = binary.BigEndian.AppendUint16(dst, 0xffff)
		} else {
			dst = binary.BigEndian.AppendUint16(dst, uint16(len(*clientID)))
			dst = append(dst, *clientID...)
		}
	}
	if hv >= 2 {
		dst = append(dst, 0) // no tagged fields
	}
	dst = req.AppendTo(dst)
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}

// ParseResponse parses a response frame (without its size prefix, as
// ReadFrame returns it) for a request of the given key and version. Note
// that an ApiVersions request of a version the broker does not support is
// answered at version 0 (KIP-511): parse it with version 0.
func ParseResponse(frame []byte, key, version int16) (corr int32, resp kmsg.Response, err error) {
	resp = kmsg.ResponseForKey(key)
	if resp == nil {
		return 0, nil, fmt.Errorf("%w: key %d", ErrUnknownKey, key)
	}
	if len(frame) < 4 {
		return 0, nil, errors.New("wire: response shorter than its header")
	}
	corr = int32(binary.BigEndian.Uint32(frame))
	body := frame[4:]
	resp.SetVersion(version)
	if key != apiVersionsKey && resp.IsFlexible() {
		if body, err = skipTags(body); err != nil {
			return corr, nil, errors.New("wire: malformed response header")
		}
	}
	if err := resp.ReadFrom(body); err != nil {
		return corr, nil, fmt.Errorf("wire: malformed key %d v%d response: %w", key, version, err)
	}
	return corr, resp, nil
}
