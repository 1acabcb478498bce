package wire_test

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/ordo-broker/ordo/broker/wire"
	"github.com/ordo-broker/ordo/broker/wire/wiretest"
)

var benchSizes = []struct {
	name string
	n    int
}{
	{"1KiB", 1 << 10},
	{"64KiB", 64 << 10},
	{"1MiB", 1 << 20},
	{"10MiB", 10 << 20},
}

// paddedRequest is a Metadata v12 request frame of exactly size bytes
// (prefix excluded): kmsg ignores the padding after the body, so the
// server reads, parses and answers it like any request.
func paddedRequest(size int, corr int32) []byte {
	frame := wire.AppendRequest(nil, metadataReq(12), corr, nil)
	payload := append(frame[4:], make([]byte, size-len(frame)+4)...)
	return frameOf(payload)
}

// BenchmarkReadFrame is the cost of reading one frame from a buffered
// stream: allocation and copying, no network.
func BenchmarkReadFrame(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			frame := paddedRequest(s.n, 1)
			r := &repeatReader{data: frame}
			br := bufio.NewReaderSize(r, 32<<10)
			b.SetBytes(int64(s.n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := wire.ReadFrame(br, wire.DefaultMaxFrameBytes); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkServerRequest is one request of each size through a live
// connection: read, parse, handle, answer (a small Metadata response).
func BenchmarkServerRequest(b *testing.B) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	_, addr := wiretest.Start(b, wire.Config{Logger: quiet}, &fake{})
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				b.Fatal(err)
			}
			defer nc.Close()
			frame := paddedRequest(s.n, 1)
			br := bufio.NewReader(nc)
			b.SetBytes(int64(s.n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := nc.Write(frame); err != nil {
					b.Fatal(err)
				}
				if _, err := wire.ReadFrame(br, wire.DefaultMaxFrameBytes); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// repeatReader yields data over and over.
type repeatReader struct {
	data []byte
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := copy(p, r.data[r.off:])
	r.off = (r.off + n) % len(r.data)
	return n, nil
}
