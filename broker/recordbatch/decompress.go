package recordbatch

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Decompression, bounded. A compressed batch is the only input whose cost
// is not proportional to its size: 1 MB of gzip inflates to 1 GB, and
// zstd further. So every decompression in the broker goes through
// openCompressed, which stops a batch's records at MaxUncompressed bytes
// with ErrRecordsTooLarge, and the codecs are configured so that no
// decoder allocates more than that bound up front (a zstd frame's declared
// window, a snappy block's declared length).
//
// The codecs and their framings are those kgo's DefaultDecompressor reads,
// from the same libraries: gzip (klauspost/compress, multi-member), snappy
// (xerial framing as the Java client writes it, or one raw block as sarama
// does; klauspost/compress/s2 decodes both), lz4 frames (pierrec/lz4) and
// zstd frames (klauspost/compress/zstd).

// Decompression bounds.
const (
	// MaxCompressionRatio makes MaxUncompressed, with uncompressedFloor.
	MaxCompressionRatio = 64
	// maxZstdWindow is zstd's own default limit on the window a decoder
	// accepts (ZSTD_WINDOWLOG_LIMIT_DEFAULT, 2^27): what the zstd CLI and
	// zstd-jni decode without being told otherwise. Levels up to 21
	// stay below it.
	maxZstdWindow = 128 << 20
)

// MaxUncompressed is how many bytes the records of a batch of size bytes
// (its whole length, header included) may decompress to:
// MaxCompressionRatio times its size, and never less than 64 MiB.
//
// The bound is a property of the batch alone, so a batch accepted on
// produce can always be read back, whatever max.message.bytes says later;
// with max.message.bytes bounding a produced batch's size, it bounds its
// decompressed size too. Producers do not write batches near it: kgo
// bounds a batch's size before compression by max.message.bytes (its
// ProducerBatchMaxBytes), and the Java producer's batch.size (16 KiB by
// default) bounds the compressed estimate, so a batch that inflates 64
// times over 64 MiB takes a batch.size raised to megabytes and data that
// compresses better than 64:1. gzip reaches about 1000:1 and zstd far
// more on repetitive input; that is the bomb this stops.
func MaxUncompressed(size int) int {
	return MaxCompressionRatio * max(size, uncompressedFloor)
}

// uncompressedFloor is the batch size below which MaxUncompressed stops
// shrinking. A variable only so that this package's tests can lower it
// (export_test.go) instead of inflating 64 MiB for every case.
var uncompressedFloor = 1 << 20

// capped passes at most left bytes of r through and then reports
// ErrRecordsTooLarge if r has more: what is decompressed past the bound is
// never more than one read of the codec.
type capped struct {
	r    io.Reader
	left int64
}

func (c *capped) Read(p []byte) (int, error) {
	if c.left <= 0 {
		var one [1]byte
		for {
			n, err := c.r.Read(one[:])
			if n > 0 {
				return 0, ErrRecordsTooLarge
			}
			if err != nil {
				return 0, err
			}
		}
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// decompressed is an open, bounded stream of a batch's decompressed
// records. Close it to hand its decoder back.
type decompressed struct {
	capped
	release func()
}

func (d *decompressed) Close() {
	if d.release != nil {
		d.release()
		d.release = nil
	}
}

// openCompressed opens the compressed records src of codec (1-4) as a
// stream of at most limit bytes (ErrRecordsTooLarge past it). Errors of the
// codec, when opening or reading, are the codec's own; the caller wraps
// them as ErrCorrupt.
func openCompressed(codec int8, src []byte, limit int) (*decompressed, error) {
	d := &decompressed{capped: capped{left: int64(limit)}}
	switch codec {
	case 1:
		g := gzipPool.Get().(*gzipDecoder)
		g.src.Reset(src)
		if err := g.r.Reset(&g.src); err != nil {
			gzipPool.Put(g)
			return nil, err
		}
		d.r, d.release = &g.r, func() { g.src.Reset(nil); gzipPool.Put(g) }
	case 2:
		r, err := openSnappy(src, limit)
		if err != nil {
			return nil, err
		}
		d.r = r
	case 3:
		l := lz4Pool.Get().(*lz4Decoder)
		l.src.Reset(src)
		l.r.Reset(&l.src)
		d.r, d.release = l.r, func() { l.src.Reset(nil); l.r.Reset(nil); lz4Pool.Put(l) }
	case 4:
		z := zstdPool.Get().(*zstdDecoder)
		z.src.Reset(src)
		// A decoder allocates the window a frame declares before
		// decoding anything: no window may be larger than the bound.
		if err := z.d.ResetWithOptions(&z.src, zstd.WithDecoderMaxWindow(uint64(max(min(limit, maxZstdWindow), zstd.MinWindowSize)))); err != nil {
			z.release()
			return nil, err
		}
		d.r, d.release = z.d, z.release
	default:
		return nil, fmt.Errorf("unknown compression codec %d", codec)
	}
	return d, nil
}

type gzipDecoder struct {
	r   gzip.Reader
	src bytes.Reader
}

var gzipPool = sync.Pool{New: func() any { return new(gzipDecoder) }}

type lz4Decoder struct {
	r   *lz4.Reader
	src bytes.Reader
}

var lz4Pool = sync.Pool{New: func() any { return &lz4Decoder{r: lz4.NewReader(nil)} }}

type zstdDecoder struct {
	d   *zstd.Decoder
	src bytes.Reader
}

func (z *zstdDecoder) release() {
	_ = z.d.Reset(nil) // drops the source
	z.src.Reset(nil)
	zstdPool.Put(z)
}

// zstdPool holds synchronous decoders (concurrency 1: no goroutines, the
// reading goroutine decodes), as kgo's does.
var zstdPool = sync.Pool{New: func() any {
	d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(maxZstdWindow))
	if err != nil {
		panic(err) // static options
	}
	z := &zstdDecoder{d: d}
	runtime.AddCleanup(z, func(d *zstd.Decoder) { d.Close() }, d)
	return z
}}

// xerialMagic starts the framing of snappy-java's SnappyOutputStream, which
// the Java client writes: 8 bytes of magic, a version and a compatible
// version (4 bytes each), then blocks of a 4-byte big-endian length and a
// raw snappy block.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

const xerialHeaderSize = 16

var errMalformedXerial = errors.New("malformed xerial snappy framing")

// openSnappy reads snappy the way kgo does: xerial framing if the magic is
// there, else one raw block. A raw block decodes whole (its format needs
// the output in one piece), into a buffer of its declared length, which
// must be within limit; xerial blocks decode one at a time.
func openSnappy(src []byte, limit int) (io.Reader, error) {
	if len(src) > xerialHeaderSize && bytes.HasPrefix(src, xerialMagic) {
		return &xerialReader{src: src[xerialHeaderSize:], left: limit}, nil
	}
	n, err := s2.DecodedLen(src)
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, ErrRecordsTooLarge
	}
	out, err := s2.Decode(make([]byte, n), src)
	if err != nil {
		return nil, err
	}
	return bytes.NewReader(out), nil
}

// xerialReader decodes xerial-framed snappy block by block. left is what
// the blocks may still decode to: a block declaring more is refused before
// its buffer is allocated.
type xerialReader struct {
	src  []byte
	buf  []byte // the current block, decoded
	pos  int
	left int
}

func (x *xerialReader) Read(p []byte) (int, error) {
	for x.pos == len(x.buf) {
		if len(x.src) == 0 {
			return 0, io.EOF
		}
		if len(x.src) < 4 {
			return 0, errMalformedXerial
		}
		size := binary.BigEndian.Uint32(x.src)
		x.src = x.src[4:]
		if uint64(size) > uint64(len(x.src)) {
			return 0, errMalformedXerial
		}
		block := x.src[:size]
		x.src = x.src[size:]
		n, err := s2.DecodedLen(block)
		if err != nil {
			return 0, err
		}
		if n > x.left {
			return 0, ErrRecordsTooLarge
		}
		x.left -= n
		if cap(x.buf) < n {
			x.buf = make([]byte, n)
		}
		if x.buf, err = s2.Decode(x.buf[:n], block); err != nil {
			return 0, err
		}
		x.pos = 0
	}
	n := copy(p, x.buf[x.pos:])
	x.pos += n
	return n, nil
}

// bufPool holds the buffered readers the streaming record walker reads a
// compressed batch through.
var bufPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 16<<10) }}

// overBound reports whether err says a batch's records would decompress
// past the bound: the bound itself, or a zstd frame declaring a window (or
// a block) larger than the bound allows.
func overBound(err error) bool {
	return errors.Is(err, ErrRecordsTooLarge) || errors.Is(err, zstd.ErrWindowSizeExceeded) || errors.Is(err, zstd.ErrDecoderSizeExceeded)
}

// decompressAll decompresses the records of a batch whole, for Records:
// one buffer of at most limit bytes, grown by doubling from a guess.
func decompressAll(codec int8, src []byte, limit int) ([]byte, error) {
	d, err := openCompressed(codec, src, limit)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	out := make([]byte, 0, min(limit, max(4*len(src), 4<<10))+1)
	for {
		n, err := d.Read(out[len(out):cap(out)])
		out = out[:len(out)+n]
		switch {
		case err == io.EOF:
			return out, nil
		case err != nil:
			return nil, err
		case len(out) == cap(out):
			// capped stops at limit: one byte of room past it lets
			// it report ErrRecordsTooLarge rather than look done.
			grown := make([]byte, len(out), min(2*cap(out), limit+1))
			copy(grown, out)
			out = grown
		}
	}
}
