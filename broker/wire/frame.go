package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxFrameBytes is Kafka's socket.request.max.bytes default: 100 MiB.
const DefaultMaxFrameBytes int32 = 100 << 20

// ErrFrameSize reports a size prefix that is negative or above the limit.
var ErrFrameSize = errors.New("wire: bad frame size")

// frameChunk is how much of a frame is allocated before its bytes arrive.
// A size prefix is a claim, not a fact: growing the buffer as data actually
// arrives means a client announcing 100 MiB and sending 4 bytes costs 1 MiB,
// not 100 — until it has sent the first 1 MiB.
const frameChunk = 1 << 20

// ReadFrame reads one size-prefixed frame (a 4-byte big-endian length, then
// that many bytes) and returns its payload, without the prefix. A size below
// zero or above max is ErrFrameSize; the caller must then drop the
// connection, because the rest of the stream can no longer be framed. A
// clean end of stream before a frame starts is io.EOF; anything shorter
// after that is io.ErrUnexpectedEOF.
//
// The returned slice is freshly allocated and never reused: decoded bodies
// alias it (kmsg's ReadFrom keeps record batches as sub-slices).
func ReadFrame(r io.Reader, max int32) ([]byte, error) {
	var prefix [4]byte
	if _, err := io.ReadFull(r, prefix[:]); err != nil {
		return nil, err
	}
	size := int32(binary.BigEndian.Uint32(prefix[:]))
	if size < 0 || size > max {
		return nil, fmt.Errorf("%w: %d bytes (max %d)", ErrFrameSize, size, max)
	}
	n := int(size)
	buf := make([]byte, min(n, frameChunk))
	got := 0
	for {
		m, err := io.ReadFull(r, buf[got:])
		got += m
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if got == n {
			return buf, nil
		}
		// The first chunk arrived whole: the client is sending the frame
		// it announced, so take the rest in one allocation rather than
		// doubling (which would copy a 6 MiB produce 7 MiB over).
		next := make([]byte, n)
		copy(next, buf)
		buf = next
	}
}
