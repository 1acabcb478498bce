package wire

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Frames of every size around the chunk boundaries come back byte for
// byte, whether the reader can peek (the server's bufio.Reader) or not,
// and the memory asked of grow is the frame's size, no more.
func TestReadFrameChunkBoundaries(t *testing.T) {
	for _, n := range []int{0, 1, frameChunk - 1, frameChunk, frameChunk + 1, 2 * frameChunk, 2*frameChunk + 1,
		4*frameChunk + 7, 1<<20 + 3, 3<<20 - 1} {
		payload := make([]byte, n)
		for i := range payload {
			payload[i] = byte(i * 7 / 3)
		}
		stream := append(binary.BigEndian.AppendUint32(nil, uint32(n)), payload...)
		stream = append(stream, 0, 0, 0, 1, 'x') // the next frame
		for name, r := range map[string]io.Reader{
			"bufio":       bufio.NewReaderSize(iotest.HalfReader(bytes.NewReader(stream)), 32<<10),
			"plain, half": iotest.HalfReader(bytes.NewReader(stream)),
		} {
			var asked int
			got, err := readFrame(r, DefaultMaxFrameBytes, func(k int) error { asked += k; return nil })
			require.NoError(t, err, "%d bytes, %s", n, name)
			require.True(t, bytes.Equal(payload, got), "%d bytes, %s", n, name)
			assert.Equal(t, n, cap(got), "exact size")
			assert.Equal(t, n, asked, "%d bytes, %s: memory asked", n, name)
			next, err := readFrame(r, DefaultMaxFrameBytes, nil)
			require.NoError(t, err)
			assert.Equal(t, []byte("x"), next)
		}
	}
}

// A size prefix alone takes no memory when the reader can peek, and a
// stream cut inside a chunk is io.ErrUnexpectedEOF with what was asked
// reported.
func TestReadFrameTakesMemoryAsBytesArrive(t *testing.T) {
	var asked int
	grow := func(k int) error { asked += k; return nil }
	prefixOnly := bufio.NewReader(bytes.NewReader(binary.BigEndian.AppendUint32(nil, uint32(DefaultMaxFrameBytes))))
	_, err := readFrame(prefixOnly, DefaultMaxFrameBytes, grow)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Zero(t, asked, "nothing sent, nothing taken")

	sent := append(binary.BigEndian.AppendUint32(nil, uint32(DefaultMaxFrameBytes)), make([]byte, 200<<10)...)
	_, err = readFrame(bufio.NewReader(bytes.NewReader(sent)), DefaultMaxFrameBytes, grow)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Equal(t, 256<<10, asked, "chunks of 64, 64 and 128 KiB for 200 KiB sent")
}
