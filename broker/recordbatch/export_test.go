package recordbatch

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// SetUncompressedFloor lowers MaxUncompressed's floor for a test, and
// returns what puts it back.
func SetUncompressedFloor(n int) (restore func()) {
	old := uncompressedFloor
	uncompressedFloor = n
	return func() { uncompressedFloor = old }
}

// fuzzBombs are small decompression bombs of each codec (8 MiB of zeros
// behind a well-formed record, twice the bound with the floor at 64 KiB),
// and a zstd frame declaring a 1 GiB window, as fuzz seeds.
func fuzzBombs(t testing.TB) [][]byte {
	var out [][]byte
	for _, codec := range []int8{1, 3, 4} {
		var buf bytes.Buffer
		var w io.WriteCloser
		switch codec {
		case 1:
			w = gzip.NewWriter(&buf)
		case 3:
			w = lz4.NewWriter(&buf)
		case 4:
			z, err := zstd.NewWriter(&buf)
			if err != nil {
				t.Fatal(err)
			}
			w = z
		}
		rec := AppendRecord(nil, &kmsg.Record{Key: []byte("k"), Value: make([]byte, 8<<20)})
		if _, err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		out = append(out, wrapCompressed(t, codec, buf.Bytes()))
	}
	window := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 20 << 3, 0x09, 0x00, 0x00, 0x00}
	return append(out, wrapCompressed(t, 4, window))
}

// wrapCompressed is a producer's batch of one record around records
// compressed with codec.
func wrapCompressed(t testing.TB, codec int8, compressed []byte) []byte {
	raw, err := Append(nil, Header{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, NumRecords: 1, FirstTimestamp: 1000, MaxTimestamp: 1000}, compressed)
	if err != nil {
		t.Fatal(err)
	}
	binary.BigEndian.PutUint16(raw[posAttributes:], uint16(codec))
	setCRC(raw)
	return raw
}
