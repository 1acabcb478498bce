package recordbatch_test

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ordo-broker/ordo/broker/recordbatch"
	"github.com/ordo-broker/ordo/broker/recordbatch/recordbatchtest"
)

// decodeAll runs Records over raw and returns its records' values' total
// size and its error.
func decodeAll(raw []byte) (n int, err error) {
	for r, err := range recordbatch.Records(raw) {
		if err != nil {
			return n, err
		}
		n += len(r.Value)
	}
	return n, nil
}

// A bomb of each codec is refused with ErrRecordsTooLarge by every reader
// of records, each allocating a bounded amount: the walk (validation,
// look-ups) a small buffer and the codec's window, Records one buffer of
// at most the bound. Before the bound, validating a 1 MB gzip bomb took
// 5.3 GB. Snappy inflates about 21 times at most, less than
// MaxCompressionRatio: its bombs are blocks that lie about their size
// (TestDeclaredSizesPastTheBound).
//
// The floor of the bound is lowered to 64 KiB (a bound of 4 MiB for these
// small batches) so that the race detector's build does not spend minutes
// inflating 64 MiB per case; the handler's tests produce bombs against the
// real bound.
func TestBombsAreBounded(t *testing.T) {
	defer recordbatch.SetUncompressedFloor(64 << 10)()
	bound := recordbatch.MaxUncompressed(0)
	tests := []struct {
		name  string
		codec int8
		n     int64
	}{
		{"gzip", 1, 16 * int64(bound)},
		{"gzip zeros only", 1, -16 * int64(bound)},
		{"lz4", 3, 2 * int64(bound)},
		{"zstd", 4, 16 * int64(bound)},
		{"zstd zeros only", 4, -16 * int64(bound)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := recordbatchtest.Bomb(tt.codec, tt.n)
			require.NoError(t, err)
			t.Logf("%d bytes", len(raw))
			h, err := recordbatch.Parse(raw)
			require.NoError(t, err)

			want := recordbatch.ErrRecordsTooLarge
			if tt.n < 0 {
				// Zeros are records of length 0: refused at the
				// first, whatever follows.
				want = recordbatch.ErrInvalidRecord
			}
			var checkErr error
			walked := recordbatchtest.Allocated(func() { checkErr = recordbatch.CheckRecords(raw, h, true) })
			require.ErrorIs(t, checkErr, want)
			// A buffer and the codec's window or blocks (a zstd window
			// is at most the bound; lz4 blocks are up to 4 MiB).
			require.Less(t, walked, recordbatchtest.AllocBound(uint64(bound+24<<20)), "the walk holds no more than a buffer and a window")

			_, err = recordbatch.ValidateProduced(raw, 11, false)
			require.ErrorIs(t, err, want)

			if tt.n > 0 {
				// The first record's prefix matches: found without
				// reading its value.
				var found bool
				looked := recordbatchtest.Allocated(func() {
					_, _, found, err = recordbatch.FindRecord(raw, h, func(int64, int64) bool { return true })
				})
				require.NoError(t, err)
				require.True(t, found)
				require.Less(t, looked, recordbatchtest.AllocBound(uint64(bound+24<<20)))
				// Nothing matches: the value is skipped as far as the
				// bound.
				_, _, _, err = recordbatch.FindRecord(raw, h, func(int64, int64) bool { return false })
				require.ErrorIs(t, err, recordbatch.ErrRecordsTooLarge)
			}

			var recErr error
			decoded := recordbatchtest.Allocated(func() { _, recErr = decodeAll(raw) })
			// Zeros too: Records decompresses before it decodes.
			require.ErrorIs(t, recErr, recordbatch.ErrRecordsTooLarge)
			require.Less(t, decoded, recordbatchtest.AllocBound(uint64(2*bound+24<<20)), "Records holds one buffer of at most the bound (grown by doubling)")
		})
	}
}

// Declared sizes are checked before anything is allocated: a raw snappy
// block or a xerial block claiming more than the bound, a zstd frame
// declaring a window larger than it.
func TestDeclaredSizesPastTheBound(t *testing.T) {
	rawSnappy := append(binary.AppendUvarint(nil, 1<<31), 0x00) // a raw block's decoded length, and a literal tag
	xerial := append(append([]byte(nil), recordbatchtest.XerialMagic...), binary.BigEndian.AppendUint32(nil, uint32(len(rawSnappy)))...)
	xerial = append(xerial, rawSnappy...)

	// A zstd frame declaring a window of 1 GiB (window descriptor
	// exponent 20), then one last raw block of one byte.
	window := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 20 << 3, 0x09, 0x00, 0x00, 0x00}

	for name, b := range map[string][]byte{
		"raw snappy":   recordbatchtest.Wrap(2, 1, rawSnappy),
		"xerial block": recordbatchtest.Wrap(2, 1, xerial),
		"zstd window":  recordbatchtest.Wrap(4, 1, window),
	} {
		t.Run(name, func(t *testing.T) {
			h, err := recordbatch.Parse(b)
			require.NoError(t, err)
			var checkErr error
			n := recordbatchtest.Allocated(func() { checkErr = recordbatch.CheckRecords(b, h, false) })
			require.ErrorIs(t, checkErr, recordbatch.ErrRecordsTooLarge)
			require.Less(t, n, recordbatchtest.AllocBound(1<<20))
			_, err = decodeAll(b)
			require.ErrorIs(t, err, recordbatch.ErrRecordsTooLarge)
		})
	}
}

// Up to the bound, a batch may inflate as much as it likes: the bound of a
// small batch is not its ratio.
func TestLargeRatioUnderTheBound(t *testing.T) {
	defer recordbatch.SetUncompressedFloor(64 << 10)()
	n := int64(recordbatch.MaxUncompressed(0)) - 100
	for codec := int8(1); codec <= 4; codec++ {
		raw, err := recordbatchtest.Bomb(codec, n)
		require.NoError(t, err)
		h, err := recordbatch.Parse(raw)
		require.NoError(t, err)
		require.NoError(t, recordbatch.CheckRecords(raw, h, true), "codec %d", codec)
		size, err := decodeAll(raw)
		require.NoError(t, err, "codec %d", codec)
		require.Equal(t, int(n), size)
	}
}
