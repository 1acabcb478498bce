package recordbatch

import (
	"encoding/binary"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// withRecords is a producer's batch of codec whose header claims n records
// (offsets 0..n-1) and whose records are the bytes records, compressed with
// codec: records that may disagree with the header.
func withRecords(t testing.TB, codec int8, n int, records []byte) []byte {
	t.Helper()
	raw, err := Append(nil, producerHeader(codec, n, 1000), records)
	require.NoError(t, err)
	return raw
}

// recs encodes records with AppendRecord, one after the other.
func recs(rs ...kmsg.Record) []byte {
	var b []byte
	for i := range rs {
		b = AppendRecord(b, &rs[i])
	}
	return b
}

// threeRecords are three well-formed records at offset deltas 0, 1, 2.
func threeRecords() []kmsg.Record {
	return []kmsg.Record{
		{OffsetDelta: 0, Key: []byte("a"), Value: []byte("one")},
		{OffsetDelta: 1, TimestampDelta64: 5, Key: []byte("b"), Value: []byte("two"), Headers: []kmsg.Header{{Key: "h", Value: []byte("v")}}},
		{OffsetDelta: 2, TimestampDelta64: 9, Key: []byte("c"), Value: nil},
	}
}

// rawRecord is one record from its fields after the length, with the length
// computed (or given, when length >= 0).
func rawRecord(length int, body ...[]byte) []byte {
	var b []byte
	for _, f := range body {
		b = append(b, f...)
	}
	if length < 0 {
		length = len(b)
	}
	return append(binary.AppendVarint(nil, int64(length)), b...)
}

func vi(v int64) []byte { return binary.AppendVarint(nil, v) }

// TestValidateProduced checks every rule of a client's batch, with the
// sentinel (and so the Kafka code) each breach gets, for every codec where
// the records are concerned.
func TestValidateProduced(t *testing.T) {
	good := func(codec int8) []byte { return encode(t, producerHeader(codec, 3, 1000), threeRecords()...) }
	mutate := func(b []byte, f func(b []byte)) []byte {
		b = append([]byte(nil), b...)
		f(b)
		setCRC(b)
		return b
	}
	setCount := func(n, lastDelta int32) func([]byte) {
		return func(b []byte) {
			binary.BigEndian.PutUint32(b[posNumRecords:], uint32(n))
			binary.BigEndian.PutUint32(b[posLastOffsetDelta:], uint32(lastDelta))
		}
	}

	// Rules that do not depend on the codec.
	g := good(0)
	batchTests := []struct {
		name    string
		in      []byte
		version int16
		want    error
	}{
		{"no bytes", nil, 11, ErrInvalidRecord},
		{"shorter than a batch prefix", g[:8], 11, ErrInvalidRecord},
		{"cut short", g[:30], 11, ErrInvalidRecord},
		{"cut short by a byte", g[:len(g)-1], 11, ErrInvalidRecord},
		{"length below a header's", mutate(g, func(b []byte) { binary.BigEndian.PutUint32(b[posLength:], 10) }), 11, ErrCorrupt},
		{"negative length", mutate(g, func(b []byte) { binary.BigEndian.PutUint32(b[posLength:], math.MaxUint32) }), 11, ErrCorrupt},
		{"magic 1", func() []byte { b := append([]byte(nil), g...); b[posMagic] = 1; return b }(), 11, ErrInvalidMagic},
		{"bad CRC", func() []byte { b := append([]byte(nil), g...); b[len(b)-1] ^= 1; return b }(), 11, ErrCorrupt},
		{"two batches", append(append([]byte(nil), g...), g...), 11, ErrInvalidRecord},
		{"bytes after the batch", append(append([]byte(nil), g...), 0, 0), 11, ErrInvalidRecord},
		{"codec 5", mutate(g, func(b []byte) { b[posAttributes+1] |= 5 }), 11, ErrCorrupt},
		{"codec 6", mutate(g, func(b []byte) { b[posAttributes+1] |= 6 }), 11, ErrCorrupt},
		{"codec 7", mutate(g, func(b []byte) { b[posAttributes+1] |= 7 }), 11, ErrCorrupt},
		{"zstd at v3", good(4), 3, ErrUnsupportedCompression},
		{"zstd at v6", good(4), 6, ErrUnsupportedCompression},
		{"no records", mutate(g, setCount(0, -1)), 11, ErrInvalidRecord},
		{"negative count", mutate(g, setCount(-1, 2)), 11, ErrInvalidRecord},
		{"negative last offset delta", mutate(g, setCount(3, -5)), 11, ErrInvalidRecord},
		{"count below the offsets", mutate(g, setCount(2, 2)), 11, ErrInvalidRecord},
		{"count above the offsets", mutate(g, setCount(3, 1)), 11, ErrInvalidRecord},
		{"control batch", mutate(g, func(b []byte) { b[posAttributes+1] |= AttrControl }), 11, ErrInvalidRecord},
		{"producer id without a sequence", mutate(g, func(b []byte) {
			binary.BigEndian.PutUint64(b[posProducerID:], 7)
			binary.BigEndian.PutUint16(b[posProducerEpoch:], 0)
		}), 11, ErrInvalidRecord},
		{"transactional without a producer id", mutate(g, func(b []byte) { b[posAttributes+1] |= AttrTransactional }), 11, ErrInvalidRecord},
	}
	for _, tt := range batchTests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ValidateProduced(tt.in, tt.version, false)
			require.ErrorIs(t, err, tt.want)
		})
	}

	for codec := int8(0); codec <= 4; codec++ {
		t.Run(fmt.Sprintf("codec=%d", codec), func(t *testing.T) {
			g := good(codec)
			h, err := ValidateProduced(g, 7, true)
			require.NoError(t, err)
			want, err := Parse(g)
			require.NoError(t, err)
			assert.Equal(t, want, h)

			three := recs(threeRecords()...)
			deltas := func(ds ...int32) []byte {
				rs := threeRecords()
				for i := range rs {
					rs[i].OffsetDelta = ds[i]
				}
				return recs(rs...)
			}
			noKey := threeRecords()
			noKey[1].Key = nil
			emptyKey := threeRecords()
			emptyKey[1].Key = []byte{}
			rec0 := rawRecord(-1, []byte{0}, vi(0), vi(0), vi(1), []byte("k"), vi(-1), vi(0))
			tests := []struct {
				name      string
				n         int // records the header claims
				records   []byte
				compacted bool
				want      error
			}{
				{"one record", 1, rec0, true, nil},
				{"empty key on a compacted topic", 3, recs(emptyKey...), true, nil},
				{"no key on a compacted topic", 3, recs(noKey...), true, ErrNoKey},
				{"no key elsewhere", 3, recs(noKey...), false, nil},
				{"a record more than claimed", 2, three, false, ErrInvalidRecord},
				{"a record less than claimed", 4, three, false, ErrInvalidRecord},
				{"2^31-1 claimed", math.MaxInt32, three, false, ErrInvalidRecord},
				{"offset deltas 0, 0, 0", 3, deltas(0, 0, 0), false, ErrInvalidRecord},
				{"offset deltas from 1", 3, deltas(1, 2, 3), false, ErrInvalidRecord},
				{"offset deltas 0, 2, 1", 3, deltas(0, 2, 1), false, ErrInvalidRecord},
				{"no records at all", 1, nil, false, ErrInvalidRecord},
				{"a byte after the records", 3, append(append([]byte(nil), three...), 0), false, ErrInvalidRecord},
				{"record longer than its fields", 1, rawRecord(8, []byte{0}, vi(0), vi(0), vi(1), []byte("k"), vi(-1), vi(0), []byte{0}), false, ErrInvalidRecord},
				{"record length past its fields' end", 1, rawRecord(9, []byte{0}, vi(0), vi(0), vi(1), []byte("k"), vi(-1), vi(0)), false, ErrInvalidRecord},
				{"record shorter than its fields", 1, rawRecord(5, []byte{0}, vi(0), vi(0), vi(1), []byte("k"), vi(-1), vi(0)), false, ErrInvalidRecord},
				{"negative record length", 1, rawRecord(-1, vi(-3)), false, ErrInvalidRecord},
				{"key past the end", 1, rawRecord(-1, []byte{0}, vi(0), vi(0), vi(100), []byte("k")), false, ErrInvalidRecord},
				{"negative header count", 1, rawRecord(-1, []byte{0}, vi(0), vi(0), vi(1), []byte("k"), vi(-1), vi(-1)), false, ErrInvalidRecord},
				{"negative header key length", 1, rawRecord(-1, []byte{0}, vi(0), vi(0), vi(1), []byte("k"), vi(-1), vi(1), vi(-1), vi(-1)), false, ErrInvalidRecord},
				{"a varint of 6 bytes", 1, rawRecord(-1, []byte{0}, vi(0), []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0}, vi(1), []byte("k"), vi(-1), vi(0)), false, ErrInvalidRecord},
				{"non-minimal varints", 1, rawRecord(-1, []byte{0}, []byte{0x80, 0}, []byte{0x80, 0x80, 0}, vi(1), []byte("k"), vi(-1), vi(0)), false, nil},
				{"a header", 1, rawRecord(-1, []byte{0}, vi(0), vi(0), vi(1), []byte("k"), vi(2), []byte("vv"), vi(1), vi(1), []byte("h"), vi(-1)), true, nil},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					raw := withRecords(t, codec, tt.n, tt.records)
					_, err := ValidateProduced(raw, 11, tt.compacted)
					if tt.want == nil {
						require.NoError(t, err)
						// What the walk accepts, kmsg decodes.
						got, err := collect(raw)
						require.NoError(t, err)
						require.Len(t, got, tt.n)
						return
					}
					require.ErrorIs(t, err, tt.want)
				})
			}
		})
	}

	t.Run("payload that does not decompress", func(t *testing.T) {
		for codec := int8(1); codec <= 4; codec++ {
			raw := withRecords(t, 0, 3, []byte("these are not compressed records at all"))
			binary.BigEndian.PutUint16(raw[posAttributes:], uint16(codec))
			setCRC(raw)
			_, err := ValidateProduced(raw, 11, false)
			require.ErrorIs(t, err, ErrCorrupt, "codec %d", codec)

			// A good stream cut short.
			g := good(codec)
			cut, err := Append(nil, producerHeader(0, 3, 1000), g[HeaderSize:len(g)-4])
			require.NoError(t, err)
			binary.BigEndian.PutUint16(cut[posAttributes:], uint16(codec))
			setCRC(cut)
			_, err = ValidateProduced(cut, 11, false)
			require.Error(t, err, "codec %d", codec)
		}
	})
}

// FindRecord finds what a walk over Records' records finds, for every codec
// and record layout.
func TestFindRecordAgreesWithRecords(t *testing.T) {
	for codec := int8(0); codec <= 4; codec++ {
		for _, logAppend := range []bool{false, true} {
			rs := sampleRecords()
			h := producerHeader(codec, len(rs), 1000)
			h.BaseOffset = 40
			if logAppend {
				h.Attributes |= AttrLogAppendTime
				h.MaxTimestamp = 5000
			}
			raw := encode(t, h, rs...)
			h, err := Parse(raw)
			require.NoError(t, err)
			require.NoError(t, CheckRecords(raw, h, false))
			all, err := collect(raw)
			require.NoError(t, err)
			for _, want := range all {
				off, ts, ok, err := FindRecord(raw, h, func(o, _ int64) bool { return o == want.Offset })
				require.NoError(t, err)
				require.True(t, ok)
				assert.Equal(t, []int64{want.Offset, want.Timestamp}, []int64{off, ts}, "codec %d", codec)
			}
			_, _, ok, err := FindRecord(raw, h, func(int64, int64) bool { return false })
			require.NoError(t, err)
			assert.False(t, ok)
		}
	}
}

// An uncompressed batch is checked in place: no allocation at all.
func TestCheckRecordsUncompressedDoesNotAllocate(t *testing.T) {
	raw := encode(t, producerHeader(0, 3, 1000), threeRecords()...)
	h, err := Parse(raw)
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(100, func() {
		if err := CheckRecords(raw, h, true); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}

func BenchmarkCheckRecords(b *testing.B) {
	for _, codec := range []int8{0, 1, 2, 3, 4} {
		for _, shape := range []struct{ n, size int }{{10, 100}, {1000, 10}} {
			b.Run(fmt.Sprintf("codec=%d/records=%d/size=%d", codec, shape.n, shape.size), func(b *testing.B) {
				rs := make([]kmsg.Record, shape.n)
				for i := range rs {
					rs[i] = kmsg.Record{OffsetDelta: int32(i), Key: fmt.Appendf(nil, "key-%d", i), Value: make([]byte, shape.size)}
				}
				raw := encode(b, producerHeader(codec, shape.n, 1000), rs...)
				h, err := Parse(raw)
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(raw)))
				b.ReportAllocs()
				for b.Loop() {
					if err := CheckRecords(raw, h, true); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkProduceValidation compares, on the same producer batches, what
// the produce path checked before records were walked on every topic
// (ParseProduced: length, magic, CRC, counts) with what it checks now
// (ValidateProduced). The difference is the record walk.
func BenchmarkProduceValidation(b *testing.B) {
	for _, shape := range []struct{ n, size int }{{10, 100}, {16, 1024}, {1000, 10}} {
		rs := make([]kmsg.Record, shape.n)
		for i := range rs {
			rs[i] = kmsg.Record{OffsetDelta: int32(i), Key: fmt.Appendf(nil, "key-%04d", i), Value: make([]byte, shape.size)}
		}
		raw := encode(b, producerHeader(0, shape.n, 1000), rs...)
		name := fmt.Sprintf("records=%d/size=%d", shape.n, shape.size)
		b.Run(name+"/ParseProduced", func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if _, err := ParseProduced(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/ValidateProduced", func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if _, err := ValidateProduced(raw, 11, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
