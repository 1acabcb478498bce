// Package recordbatchtest builds record batches for tests that no producer
// would send: decompression bombs of every codec (records that inflate far
// past recordbatch.MaxUncompressed from a small payload), and batches
// around hand-made record bytes.
package recordbatchtest

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"

	"github.com/ordo-broker/ordo/broker/recordbatch"
)

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// BombRecords writes to w the records of a one-record batch whose record
// is well formed (key "k", offset delta 0) and holds a value of n zero
// bytes: a bomb that parses as far as anyone reads it. With n < 0 it
// writes -n bytes of zeros only: records of length 0, which do not parse.
func BombRecords(w io.Writer, n int64) error {
	if n < 0 {
		_, err := io.CopyN(struct{ io.Writer }{w}, zeroReader{}, -n)
		return err
	}
	if _, err := w.Write(bombPrefix(n)); err != nil {
		return err
	}
	// Through Write only: lz4's ReadFrom cannot follow a Write.
	if _, err := io.CopyN(struct{ io.Writer }{w}, zeroReader{}, n); err != nil {
		return err
	}
	_, err := w.Write([]byte{0})
	return err
}

// bombPrefix is a record up to its value of n bytes: length, attributes,
// timestamp delta 0, offset delta 0, key "k", value length. A header count
// of 0 follows the value.
func bombPrefix(n int64) []byte {
	value := binary.AppendVarint(nil, n)
	body := 5 + int64(len(value)) + n + 1
	head := binary.AppendVarint(nil, body)
	head = append(head, 0, 0, 0, 2, 'k')
	return append(head, value...)
}

// Compress compresses what write writes with codec (1 gzip, 2 snappy in
// snappy-java's xerial framing of 32 KiB blocks, 3 lz4, 4 zstd), streaming.
func Compress(codec int8, write func(io.Writer) error) ([]byte, error) {
	var buf bytes.Buffer
	var w io.WriteCloser
	switch codec {
	case 1:
		w = gzip.NewWriter(&buf)
	case 2:
		w = &xerialWriter{dst: &buf}
	case 3:
		w = lz4.NewWriter(&buf)
	case 4:
		z, err := zstd.NewWriter(&buf, zstd.WithEncoderLevel(zstd.SpeedFastest))
		if err != nil {
			return nil, err
		}
		w = z
	default:
		return nil, io.ErrUnexpectedEOF
	}
	if err := write(w); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// XerialMagic starts snappy-java's framing: 8 bytes of magic, then the
// version and compatible version, 4 bytes each.
var XerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1}

type xerialWriter struct {
	dst     *bytes.Buffer
	pending []byte
	started bool
}

func (x *xerialWriter) Write(p []byte) (int, error) {
	if !x.started {
		x.dst.Write(XerialMagic)
		x.started = true
	}
	x.pending = append(x.pending, p...)
	for len(x.pending) >= 32<<10 {
		x.block(x.pending[:32<<10])
		x.pending = x.pending[32<<10:]
	}
	return len(p), nil
}

func (x *xerialWriter) block(b []byte) {
	enc := s2.EncodeSnappy(nil, b)
	x.dst.Write(binary.BigEndian.AppendUint32(nil, uint32(len(enc))))
	x.dst.Write(enc)
}

func (x *xerialWriter) Close() error {
	if len(x.pending) > 0 {
		x.block(x.pending)
	}
	return nil
}

// Wrap makes a producer's batch (no producer id) of n records whose
// records are records, already compressed with codec (0: as they are), and
// sets its CRC.
func Wrap(codec int8, n int32, records []byte) []byte {
	raw, err := recordbatch.Append(nil, recordbatch.Header{
		LastOffsetDelta: n - 1, FirstTimestamp: 1000, MaxTimestamp: 1000,
		ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, NumRecords: n,
	}, records)
	if err != nil {
		panic(err) // uncompressed: Append cannot fail
	}
	binary.BigEndian.PutUint16(raw[21:], uint16(codec))
	SetCRC(raw)
	return raw
}

// SetCRC computes the CRC-32C of the whole batch b again, after a test
// changed it.
func SetCRC(b []byte) {
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
}

// Bomb is a one-record batch of codec whose record holds n zero bytes (see
// BombRecords for n < 0). It is built from one compressed MiB of zeros
// repeated (gzip members, lz4 and zstd frames, xerial blocks: each
// codec's stream may be a concatenation of them), so that even 1 GiB takes
// milliseconds to build, and no longer under the race detector.
func Bomb(codec int8, n int64) ([]byte, error) {
	var out []byte
	add := func(write func(io.Writer) error) error {
		c, err := Compress(codec, write)
		if err != nil {
			return err
		}
		if codec == 2 && len(out) > 0 {
			c = c[len(XerialMagic):] // one framing header, then blocks
		}
		out = append(out, c...)
		return nil
	}
	zeros := n
	if n >= 0 {
		prefix := bombPrefix(n)
		if err := add(func(w io.Writer) error { _, err := w.Write(prefix); return err }); err != nil {
			return nil, err
		}
	} else {
		zeros = -n
	}
	const chunk = 1 << 20
	chunkBytes := make([]byte, chunk)
	if zeros >= chunk {
		before := len(out)
		if err := add(func(w io.Writer) error { _, err := w.Write(chunkBytes); return err }); err != nil {
			return nil, err
		}
		member := out[before:]
		if codec == 2 && before == 0 {
			member = member[len(XerialMagic):]
		}
		member = append([]byte(nil), member...)
		for range zeros/chunk - 1 {
			out = append(out, member...)
		}
	}
	if rem := zeros % chunk; rem > 0 {
		if err := add(func(w io.Writer) error { _, err := w.Write(chunkBytes[:rem]); return err }); err != nil {
			return nil, err
		}
	}
	if n >= 0 {
		if err := add(func(w io.Writer) error { _, err := w.Write([]byte{0}); return err }); err != nil { // no headers
			return nil, err
		}
	}
	return Wrap(codec, 1, out), nil
}
