package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// DefaultMaxFrameBytes is Kafka's socket.request.max.bytes default: 100 MiB.
const DefaultMaxFrameBytes int32 = 100 << 20

// ErrFrameSize reports a size prefix that is negative or above the limit.
var ErrFrameSize = errors.New("wire: bad frame size")

// frameChunk is the size of a frame's first buffer: a frame up to this size
// is read straight into its own buffer; a larger one is read in chunks. A
// size prefix is a claim, not a fact: memory is taken as the frame's bytes
// actually arrive (see readFrame), so a client announcing 100 MiB and
// stalling costs what it sent, not what it announced.
const frameChunk = 64 << 10

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
	return readFrame(r, max, nil)
}

// peeker is a buffered reader (bufio.Reader) that can wait for bytes
// without taking them.
type peeker interface {
	Peek(n int) ([]byte, error)
}

// readFrame is ReadFrame that asks grow for the bytes of every buffer it
// is about to fill (the server's request memory budget); an error from
// grow is returned.
//
// A frame of up to frameChunk bytes is read into one buffer of its size. A
// larger one is read into chunks taken from pools, of frameChunk bytes for
// the first two and then each as large as all before it (64 KiB, 64 KiB,
// 128 KiB, ...), and copied into one buffer of its exact size once whole:
// the memory it holds while it arrives is at most about twice what has
// arrived, and reading it costs one allocation and one copy of its size.
// When r can peek (a bufio.Reader) a buffer or chunk is taken only once a
// byte that needs it has arrived, so a client that sends a size prefix and
// stops holds nothing.
func readFrame(r io.Reader, limit int32, grow func(n int) error) ([]byte, error) {
	var prefix [4]byte
	if _, err := io.ReadFull(r, prefix[:]); err != nil {
		return nil, err
	}
	size := int32(binary.BigEndian.Uint32(prefix[:]))
	if size < 0 || size > limit {
		return nil, fmt.Errorf("%w: %d bytes (max %d)", ErrFrameSize, size, limit)
	}
	n := int(size)
	pk, _ := r.(peeker)
	take := func(k int) error { // k more bytes of buffer, once needed
		if pk != nil {
			if _, err := pk.Peek(1); err != nil {
				return unexpectedEOF(err)
			}
		}
		if grow != nil {
			return grow(k)
		}
		return nil
	}
	if n <= frameChunk {
		buf := make([]byte, n)
		if n == 0 {
			return buf, nil
		}
		if err := take(n); err != nil {
			return nil, err
		}
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, unexpectedEOF(err)
		}
		return buf, nil
	}

	var chunks [chunkClasses]*[]byte // chunk i is of class max(i-1, 0)
	defer func() {
		for i, c := range chunks {
			if c != nil {
				chunkPools[max(i-1, 0)].Put(c)
			}
		}
	}()
	got := 0
	for i := 0; got < n; i++ {
		class := max(i-1, 0)
		k := min(frameChunk<<class, n-got)
		if err := take(k); err != nil {
			return nil, err
		}
		c := getChunk(class)
		chunks[i] = c
		m, err := io.ReadFull(r, (*c)[:k])
		got += m
		if err != nil {
			return nil, unexpectedEOF(err)
		}
	}
	buf := make([]byte, n)
	off := 0
	for _, c := range chunks {
		if off == n {
			break
		}
		off += copy(buf[off:], *c)
	}
	return buf, nil
}

// chunkClasses is how many chunk sizes there are, frameChunk << 0 to << 15:
// a frame of the largest int32 size fills 16 chunks (classes 0 to 14).
const chunkClasses = 16

// chunkPools hold the chunks of large frames being read, by class. They
// are never handed out of readFrame, so they can be reused.
var chunkPools [chunkClasses]sync.Pool

func getChunk(class int) *[]byte {
	if b, ok := chunkPools[class].Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, frameChunk<<class)
	return &b
}

// unexpectedEOF: an end of stream inside a frame is io.ErrUnexpectedEOF.
func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
