package wire

import (
	"encoding/binary"
	"errors"
	"math"
)

// ErrMalformedHeader reports a request header that cannot be parsed.
var ErrMalformedHeader = errors.New("wire: malformed request header")

// header is a parsed request header.
type header struct {
	key      int16
	version  int16
	corr     int32
	clientID *string
}

// peekKeyVersion reads the api key and version, which every header version
// starts with; they decide how the rest of the header is laid out.
func peekKeyVersion(frame []byte) (key, version int16, ok bool) {
	if len(frame) < 4 {
		return 0, 0, false
	}
	return int16(binary.BigEndian.Uint16(frame)), int16(binary.BigEndian.Uint16(frame[2:])), true
}

// headerVersion is the request header version for a request: 2 for flexible
// versions (KIP-482), 1 otherwise, and 0 for ControlledShutdown v0, the one
// request that predates client ids.
func headerVersion(key, version int16, flexible bool) int {
	switch {
	case key == 7 && version == 0:
		return 0
	case flexible:
		return 2
	default:
		return 1
	}
}

// parseHeader parses a request header of the given version and returns it
// with the body that follows.
//
// v0: api key int16, api version int16, correlation id int32.
// v1: v0 + client id, a nullable string with an int16 length (-1 is null).
// v2: v1 + tagged fields (KIP-482). The client id stays a plain nullable
// string, not a compact one, so that a broker can read it before it knows
// whether the version is flexible.
func parseHeader(frame []byte, hv int) (header, []byte, error) {
	if len(frame) < 8 {
		return header{}, nil, ErrMalformedHeader
	}
	h := header{
		key:     int16(binary.BigEndian.Uint16(frame)),
		version: int16(binary.BigEndian.Uint16(frame[2:])),
		corr:    int32(binary.BigEndian.Uint32(frame[4:])),
	}
	b := frame[8:]
	if hv >= 1 {
		if len(b) < 2 {
			return header{}, nil, ErrMalformedHeader
		}
		n := int(int16(binary.BigEndian.Uint16(b)))
		b = b[2:]
		switch {
		case n == -1:
		case n < 0 || n > len(b):
			return header{}, nil, ErrMalformedHeader
		default:
			id := string(b[:n])
			h.clientID = &id
			b = b[n:]
		}
	}
	if hv >= 2 {
		var err error
		if b, err = skipTags(b); err != nil {
			return header{}, nil, err
		}
	}
	return h, b, nil
}

// skipTags skips a tagged-field section (KIP-482): a uvarint count, then per
// field a uvarint tag, a uvarint size and size bytes. No header tag means
// anything to a broker today, so all are ignored, as Kafka ignores unknown
// tags.
func skipTags(b []byte) ([]byte, error) {
	n, b, ok := uvarint(b)
	// A field takes at least two bytes (tag and size): this rejects
	// absurd counts without looping over them.
	if !ok || uint64(n) > uint64(len(b)/2) {
		return nil, ErrMalformedHeader
	}
	for range n {
		var size uint32
		if _, b, ok = uvarint(b); !ok {
			return nil, ErrMalformedHeader
		}
		if size, b, ok = uvarint(b); !ok || uint64(size) > uint64(len(b)) {
			return nil, ErrMalformedHeader
		}
		b = b[size:]
	}
	return b, nil
}

// uvarint reads an unsigned varint of at most 32 bits (5 bytes), as Kafka
// does; longer or overflowing encodings are malformed.
func uvarint(b []byte) (uint32, []byte, bool) {
	v, n := binary.Uvarint(b)
	if n <= 0 || n > 5 || v > math.MaxUint32 {
		return 0, nil, false
	}
	return uint32(v), b[n:], true
}
