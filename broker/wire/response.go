package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// ErrBadResponse reports a handler response wire refuses to send.
var ErrBadResponse = errors.New("wire: bad response from handler")

// appendResponse appends one response frame: size, correlation id, the
// response header's tagged fields for flexible versions (header v1, KIP-482)
// and the body at the request's version. It sets resp's version.
//
// ApiVersions responses always use header v0, even for flexible versions:
// a client that does not yet know which versions the broker speaks must be
// able to read the response (KIP-511).
func appendResponse(dst []byte, key, version int16, corr int32, resp kmsg.Response) ([]byte, error) {
	if resp.Key() != key {
		return dst, fmt.Errorf("%w: key %d answered with a key %d response", ErrBadResponse, key, resp.Key())
	}
	resp.SetVersion(version)
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(corr))
	if key != apiVersionsKey && resp.IsFlexible() {
		dst = append(dst, 0) // no tagged fields
	}
	dst = resp.AppendTo(dst)
	n := len(dst) - start - 4
	if n > math.MaxInt32 {
		return dst[:start], fmt.Errorf("%w: %d bytes", ErrBadResponse, n)
	}
	binary.BigEndian.PutUint32(dst[start:], uint32(n))
	return dst, nil
}
