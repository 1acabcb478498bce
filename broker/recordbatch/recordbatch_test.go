package recordbatch

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// producerHeader is a producer's header for n dense records at ts.
func producerHeader(codec int8, n int, ts int64) Header {
	return Header{
		PartitionLeaderEpoch: -1,
		Attributes:           int16(codec),
		LastOffsetDelta:      int32(n - 1),
		FirstTimestamp:       ts,
		MaxTimestamp:         ts + int64(n-1),
		ProducerID:           -1,
		ProducerEpoch:        -1,
		BaseSequence:         -1,
		NumRecords:           int32(n),
	}
}

// encode is AppendRecord for each record, then Append.
func encode(t testing.TB, h Header, recs ...kmsg.Record) []byte {
	t.Helper()
	var records []byte
	for i := range recs {
		records = AppendRecord(records, &recs[i])
	}
	raw, err := Append(nil, h, records)
	require.NoError(t, err)
	return raw
}

// sampleRecords covers what a record may hold: null and empty keys and
// values, headers, and values long enough for two- and three-byte record
// lengths.
func sampleRecords() []kmsg.Record {
	return []kmsg.Record{
		{OffsetDelta: 0, Key: []byte("k0"), Value: []byte("v0")},
		{OffsetDelta: 1, TimestampDelta64: 1, Key: nil, Value: []byte("no key")},
		{OffsetDelta: 2, TimestampDelta64: 2, Key: []byte("tombstone"), Value: nil},
		{OffsetDelta: 3, TimestampDelta64: 3, Key: []byte{}, Value: []byte{}},
		{OffsetDelta: 4, TimestampDelta64: 4, Key: []byte("h"), Value: []byte("v"), Headers: []kmsg.Header{{Key: "a", Value: []byte("1")}, {Key: "b"}}},
		{OffsetDelta: 5, TimestampDelta64: 5, Key: []byte("long"), Value: bytes.Repeat([]byte("x"), 300)},
		{OffsetDelta: 6, TimestampDelta64: 6, Key: []byte("longer"), Value: bytes.Repeat([]byte("y"), 20000)},
	}
}

// viaKgo decodes batches as franz-go's consumer does (CRC check,
// decompression, records, offsets, timestamps): an oracle independent of
// this package.
func viaKgo(t *testing.T, raw []byte) []*kgo.Record {
	t.Helper()
	rp := kmsg.NewFetchResponseTopicPartition()
	rp.HighWatermark, rp.LastStableOffset = 1<<40, 1<<40
	rp.RecordBatches = raw
	fp, _ := kgo.ProcessFetchPartition(kgo.ProcessFetchPartitionOpts{}, &rp, kgo.DefaultDecompressor(), nil)
	require.NoError(t, fp.Err)
	return fp.Records
}

// collect returns Records' records, copied, and its error.
func collect(raw []byte) ([]Record, error) {
	var out []Record
	for r, err := range Records(raw) {
		if err != nil {
			return out, err
		}
		c := *r
		c.Headers = append([]kmsg.Header(nil), r.Headers...)
		out = append(out, c)
	}
	return out, nil
}

func TestRoundTripEveryCodec(t *testing.T) {
	for codec := int8(0); codec <= 4; codec++ {
		t.Run(fmt.Sprintf("codec=%d", codec), func(t *testing.T) {
			recs := sampleRecords()
			h := producerHeader(codec, len(recs), 1_700_000_000_000)
			h.BaseOffset, h.PartitionLeaderEpoch = 100, 7
			h.ProducerID, h.ProducerEpoch, h.BaseSequence = 42, 3, 17
			raw := encode(t, h, recs...)

			// kmsg reads back what Append wrote, with a CRC-32C that
			// hash/crc32 agrees with.
			var rb kmsg.RecordBatch
			require.NoError(t, rb.ReadFrom(raw))
			assert.Equal(t, int32(len(raw)-12), rb.Length)
			assert.Equal(t, int8(2), rb.Magic)
			assert.Equal(t, crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)), uint32(rb.CRC))
			assert.Equal(t, kmsg.RecordBatch{
				FirstOffset: 100, Length: rb.Length, PartitionLeaderEpoch: 7, Magic: 2, CRC: rb.CRC,
				Attributes: int16(codec), LastOffsetDelta: 6, FirstTimestamp: h.FirstTimestamp,
				MaxTimestamp: h.MaxTimestamp, ProducerID: 42, ProducerEpoch: 3, FirstSequence: 17,
				NumRecords: 7, Records: rb.Records,
			}, rb)

			// Parse gives the header back.
			got, err := Parse(raw)
			require.NoError(t, err)
			want := h
			want.Size = len(raw)
			assert.Equal(t, want, got)

			// franz-go's consumer and the iterator read the same records.
			kr := viaKgo(t, raw)
			ours, err := collect(raw)
			require.NoError(t, err)
			require.Len(t, kr, len(recs))
			require.Len(t, ours, len(recs))
			for i, r := range ours {
				assert.Equal(t, kr[i].Offset, r.Offset, "record %d", i)
				assert.Equal(t, kr[i].Timestamp.UnixMilli(), r.Timestamp, "record %d", i)
				assert.Equal(t, recs[i].Key, r.Key, "record %d", i)
				assert.Equal(t, recs[i].Value, r.Value, "record %d", i)
				assert.Equal(t, kr[i].Key, r.Key, "record %d", i)
				assert.Equal(t, kr[i].Value, r.Value, "record %d", i)
				assert.Len(t, r.Headers, len(recs[i].Headers))
				for j, hd := range r.Headers {
					assert.Equal(t, kr[i].Headers[j].Key, hd.Key)
					assert.Equal(t, kr[i].Headers[j].Value, hd.Value)
				}
			}

			// What the iterator yields encodes again to the same batch.
			var again []byte
			for i := range ours {
				again = AppendRecord(again, &ours[i].Record)
			}
			raw2, err := Append(nil, h, again)
			require.NoError(t, err)
			if codec == 0 {
				assert.Equal(t, raw, raw2)
			}
			ours2, err := collect(raw2)
			require.NoError(t, err)
			assert.Equal(t, ours, ours2)
		})
	}
}

func TestAppendRecordLengths(t *testing.T) {
	// Values across the one-, two- and three-byte record lengths.
	for _, n := range []int{0, 50, 56, 57, 63, 64, 100, 8180, 8192, 1 << 17} {
		r := kmsg.Record{OffsetDelta: 3, TimestampDelta64: -5, Key: []byte("key"), Value: bytes.Repeat([]byte{'v'}, n)}
		prefix := []byte("prefix")
		out := AppendRecord(append([]byte(nil), prefix...), &r)
		require.Equal(t, prefix, out[:len(prefix)], "the bytes before stay")
		enc := out[len(prefix):]

		var back kmsg.Record
		require.NoError(t, back.ReadFrom(enc), "value of %d bytes", n)
		length, w := binary.Varint(enc)
		assert.Equal(t, int64(len(enc)-w), length)
		assert.Equal(t, int32(length), back.Length)
		assert.Equal(t, r.Value, back.Value)
		assert.Equal(t, int64(-5), back.TimestampDelta64)
		assert.Equal(t, int32(0), r.Length, "r is not modified")
	}
}

func TestLogAppendTimeRewrite(t *testing.T) {
	for _, codec := range []int8{0, 4} {
		raw := encode(t, producerHeader(codec, 3, 1000),
			kmsg.Record{OffsetDelta: 0, Key: []byte("a")},
			kmsg.Record{OffsetDelta: 1, TimestampDelta64: 5, Key: []byte("b")},
			kmsg.Record{OffsetDelta: 2, TimestampDelta64: 2, Key: []byte("c")})
		SetBaseOffset(raw, 50)
		SetLeaderEpoch(raw, 9)
		SetLogAppendTime(raw, 7777)

		h, err := Parse(raw)
		require.NoError(t, err, "the CRC was computed again")
		assert.Equal(t, int64(50), h.BaseOffset)
		assert.Equal(t, int32(9), h.PartitionLeaderEpoch)
		assert.True(t, h.LogAppendTime())
		assert.Equal(t, codec, h.Compression())
		assert.Equal(t, int64(7777), h.MaxTimestamp)
		assert.Equal(t, int64(1000), h.FirstTimestamp)

		recs, err := collect(raw)
		require.NoError(t, err)
		kr := viaKgo(t, raw)
		require.Len(t, recs, 3)
		for i, r := range recs {
			assert.Equal(t, int64(50+i), r.Offset)
			assert.Equal(t, int64(7777), r.Timestamp, "every record has the append time")
			assert.Equal(t, kr[i].Timestamp.UnixMilli(), r.Timestamp)
		}
	}
}

func TestParseProduced(t *testing.T) {
	good := encode(t, producerHeader(0, 3, 10),
		kmsg.Record{OffsetDelta: 0, Key: []byte("k0"), Value: []byte("v")},
		kmsg.Record{OffsetDelta: 1, TimestampDelta64: 20, Key: []byte("k1"), Value: []byte("v")},
		kmsg.Record{OffsetDelta: 2, TimestampDelta64: 10, Key: []byte("k2"), Value: []byte("v")})
	two := append(append([]byte(nil), good...), encode(t, producerHeader(2, 1, 40), kmsg.Record{Key: []byte("k")})...)
	mutate := func(f func(b []byte) []byte) []byte {
		return f(append([]byte(nil), good...))
	}
	recrc := func(b []byte) []byte { setCRC(b); return b }
	tests := []struct {
		name    string
		in      []byte
		wantErr error
	}{
		{name: "empty", in: nil, wantErr: ErrCorrupt},
		{name: "shorter than the prefix", in: good[:8], wantErr: ErrCorrupt},
		{name: "shorter than the header", in: good[:40], wantErr: ErrCorrupt},
		{name: "truncated records", in: good[:len(good)-1], wantErr: ErrCorrupt},
		{name: "trailing garbage", in: append(append([]byte(nil), good...), 0, 0, 0), wantErr: ErrCorrupt},
		{name: "length too small", in: mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[posLength:], 10)
			return b
		}), wantErr: ErrCorrupt},
		{name: "negative length", in: mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[posLength:], 0xffffffff)
			return b
		}), wantErr: ErrCorrupt},
		{name: "length past the end", in: mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[posLength:], uint32(len(b)))
			return b
		}), wantErr: ErrCorrupt},
		{name: "magic 1", in: mutate(func(b []byte) []byte { b[posMagic] = 1; return b }), wantErr: ErrInvalidMagic},
		{name: "magic 0 in a short message", in: mutate(func(b []byte) []byte { b[posMagic] = 0; return b[:30] }), wantErr: ErrInvalidMagic},
		{name: "bad CRC", in: mutate(func(b []byte) []byte { b[len(b)-3] ^= 1; return b }), wantErr: ErrCorrupt},
		{name: "bad CRC field", in: mutate(func(b []byte) []byte { b[posCRC] ^= 1; return b }), wantErr: ErrCorrupt},
		{name: "bad CRC in the second batch", in: func() []byte {
			b := append([]byte(nil), two...)
			b[len(b)-1] ^= 1
			return b
		}(), wantErr: ErrCorrupt},
		{name: "zero records", in: mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[posNumRecords:], 0)
			binary.BigEndian.PutUint32(b[posLastOffsetDelta:], 0xffffffff)
			return recrc(b)
		}), wantErr: ErrCorrupt},
		{name: "last offset delta disagrees", in: mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[posLastOffsetDelta:], 5)
			return recrc(b)
		}), wantErr: ErrCorrupt},
		{name: "more records than bytes", in: mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[posNumRecords:], 1000)
			binary.BigEndian.PutUint32(b[posLastOffsetDelta:], 999)
			return recrc(b)
		}), wantErr: ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseProduced(tt.in)
			require.ErrorIs(t, err, tt.wantErr)
		})
	}

	t.Run("one batch", func(t *testing.T) {
		got, err := ParseProduced(good)
		require.NoError(t, err)
		assert.Equal(t, []Header{{
			BaseOffset: 0, PartitionLeaderEpoch: -1, LastOffsetDelta: 2, FirstTimestamp: 10, MaxTimestamp: 12,
			ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, NumRecords: 3, Position: 0, Size: len(good),
		}}, got)
	})
	t.Run("two batches", func(t *testing.T) {
		got, err := ParseProduced(two)
		require.NoError(t, err)
		require.Len(t, got, 2)
		assert.Equal(t, len(good), got[1].Position)
		assert.Equal(t, int8(2), got[1].Compression())
		assert.Equal(t, int64(0), got[1].LastOffset())
		headers, err := ParseHeaders(two)
		require.NoError(t, err)
		assert.Equal(t, got, headers)
	})
}

// A compacted batch (offsets with gaps, or no records left) is a valid
// stored batch but not a valid produced one.
func TestParseAllTakesCompactedBatches(t *testing.T) {
	h := producerHeader(0, 2, 100)
	h.LastOffsetDelta = 5
	gaps := encode(t, h, kmsg.Record{OffsetDelta: 1, Key: []byte("a")}, kmsg.Record{OffsetDelta: 4, Key: []byte("b")})
	e := producerHeader(0, 0, 100)
	e.LastOffsetDelta = 3
	empty := encode(t, e)
	require.Len(t, empty, HeaderSize)
	both := append(append([]byte(nil), gaps...), empty...)

	got, err := ParseAll(both)
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, int64(5), got[0].LastOffset())
	assert.Equal(t, int32(0), got[1].NumRecords)
	_, err = ParseProduced(gaps)
	require.ErrorIs(t, err, ErrCorrupt)
	_, err = ParseProduced(empty)
	require.ErrorIs(t, err, ErrCorrupt)
	_, err = ParseAll(nil)
	require.ErrorIs(t, err, ErrCorrupt)

	recs, err := collect(gaps)
	require.NoError(t, err)
	require.Len(t, recs, 2)
	assert.Equal(t, []int64{1, 4}, []int64{recs[0].Offset, recs[1].Offset})
	recs, err = collect(empty)
	require.NoError(t, err)
	assert.Empty(t, recs)
}

func TestParseHeaders(t *testing.T) {
	raw := encode(t, producerHeader(0, 1, 5), kmsg.Record{Key: []byte("k")})
	hs, err := ParseHeaders(nil)
	require.NoError(t, err)
	assert.Empty(t, hs)
	_, err = ParseHeaders(raw[:len(raw)-1])
	require.ErrorIs(t, err, ErrCorrupt)

	// Headers alone are read without the records, and without the CRC.
	h, err := ParseHeader(raw[:HeaderSize])
	require.NoError(t, err)
	assert.Equal(t, len(raw), h.Size)
	raw[len(raw)-1] ^= 1
	_, err = ParseHeaders(raw)
	require.NoError(t, err)
	_, err = Parse(raw)
	require.ErrorIs(t, err, ErrCorrupt)
}

func TestRecordsCorrupt(t *testing.T) {
	three := []kmsg.Record{
		{OffsetDelta: 0, Key: []byte("a"), Value: []byte("one-one-one")},
		{OffsetDelta: 1, Key: []byte("b"), Value: []byte("2")},
		{OffsetDelta: 2, Key: []byte("c"), Value: []byte("3")},
	}
	good := encode(t, producerHeader(0, 3, 0), three...)
	withCount := func(n int) []byte {
		b := append([]byte(nil), good...)
		binary.BigEndian.PutUint32(b[posNumRecords:], uint32(n))
		binary.BigEndian.PutUint32(b[posLastOffsetDelta:], uint32(max(n, 3)-1))
		return b
	}
	gzipped := encode(t, producerHeader(1, 3, 0), three...)
	badGzip := append([]byte(nil), gzipped...)
	badGzip[HeaderSize+12] ^= 0xff
	badLength := append([]byte(nil), good...)
	badLength[HeaderSize] = 0x7f // a record length past the end (varint -64)

	tests := []struct {
		name      string
		raw       []byte
		wantFirst int // records yielded before the error
	}{
		{"truncated", good[:len(good)-1], 0},
		{"longer than one batch", append(append([]byte(nil), good...), good...), 0},
		{"header only", good[:HeaderSize], 0},
		{"more records claimed than present", withCount(4), 3},
		{"fewer records claimed than present", withCount(2), 2},
		{"bad record length", badLength, 0},
		{"garbled compressed records", badGzip, 0},
		{"magic 1", func() []byte { b := append([]byte(nil), good...); b[posMagic] = 1; return b }(), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := collect(tt.raw)
			require.Error(t, err)
			if tt.name == "magic 1" {
				require.ErrorIs(t, err, ErrInvalidMagic)
			} else {
				require.ErrorIs(t, err, ErrCorrupt)
			}
			assert.Len(t, recs, tt.wantFirst)
		})
	}

	t.Run("stopping early", func(t *testing.T) {
		n := 0
		for r, err := range Records(good) {
			require.NoError(t, err)
			n++
			if r.Offset == 1 {
				break
			}
		}
		assert.Equal(t, 2, n)
	})
}

// Records does not skip control batches: which callers skip them is theirs
// to say (the group loader and the cleaner do).
func TestRecordsOfAControlBatch(t *testing.T) {
	h := producerHeader(0, 1, 0)
	h.Attributes |= AttrControl | AttrTransactional
	h.ProducerID, h.ProducerEpoch = 5, 0
	raw := encode(t, h, kmsg.Record{Key: []byte{0, 0, 0, 1}, Value: []byte{0, 0, 0, 0, 0, 0}})
	got, err := Parse(raw)
	require.NoError(t, err)
	assert.True(t, got.Control())
	recs, err := collect(raw)
	require.NoError(t, err)
	assert.Len(t, recs, 1)
}

func TestAppendUnknownCodec(t *testing.T) {
	dst := []byte("before")
	out, err := Append(dst, producerHeader(5, 1, 0), AppendRecord(nil, &kmsg.Record{Key: []byte("k")}))
	require.ErrorIs(t, err, ErrCorrupt)
	assert.Equal(t, []byte("before"), out)
}

func TestHeaderAttributes(t *testing.T) {
	tests := []struct {
		attrs                          int16
		codec                          int8
		logAppend, transactional, ctrl bool
	}{
		{0x00, 0, false, false, false},
		{0x04, 4, false, false, false},
		{0x0b, 3, true, false, false},
		{0x30, 0, false, true, true},
	}
	for _, tt := range tests {
		h := Header{Attributes: tt.attrs, BaseOffset: 10, LastOffsetDelta: 4}
		assert.Equal(t, tt.codec, h.Compression())
		assert.Equal(t, tt.logAppend, h.LogAppendTime())
		assert.Equal(t, tt.transactional, h.Transactional())
		assert.Equal(t, tt.ctrl, h.Control())
		assert.Equal(t, int64(14), h.LastOffset())
	}
}

// FuzzParse: no input makes the parsers, the validation of a produced
// batch, the record walk or the iterator panic, and what ValidateProduced
// accepts, Records decodes, with the records the header claims. Seeds are
// a batch of each codec and small decompression bombs.
func FuzzParse(f *testing.F) {
	for codec := int8(0); codec <= 4; codec++ {
		f.Add(encode(f, producerHeader(codec, 3, 1000),
			kmsg.Record{OffsetDelta: 0, Key: []byte("a"), Value: []byte("x")},
			kmsg.Record{OffsetDelta: 1, Key: []byte("b")},
			kmsg.Record{OffsetDelta: 2, Value: []byte("z"), Headers: []kmsg.Header{{Key: "h", Value: []byte("v")}}}))
	}
	for _, seed := range fuzzBombs(f) {
		f.Add(seed)
	}
	// Bombs inflate to 4 MiB, not 64: the fuzzer's executions stay fast.
	defer SetUncompressedFloor(64 << 10)()
	f.Fuzz(func(t *testing.T, b []byte) {
		// Also with the first batch's CRC made right, or mutations
		// would rarely get past it.
		fixed := append([]byte(nil), b...)
		if n, err := size(fixed); err == nil && n >= HeaderSize && n <= len(fixed) {
			setCRC(fixed[:n])
		}
		for _, in := range [][]byte{b, fixed} {
			h, err := ValidateProduced(in, 11, true)
			if err != nil {
				continue
			}
			recs, err := collect(in)
			if err != nil {
				t.Fatalf("ValidateProduced accepted a batch Records cannot read: %v", err)
			}
			if len(recs) != int(h.NumRecords) {
				t.Fatalf("ValidateProduced accepted %d records, Records read %d", h.NumRecords, len(recs))
			}
			for i, r := range recs {
				if r.Offset != int64(i) || r.Key == nil {
					t.Fatalf("record %d: offset %d, key %q", i, r.Offset, r.Key)
				}
			}
		}
		b = fixed
		_, _ = ParseHeaders(b)
		hs, err := ParseAll(b)
		if err != nil {
			return
		}
		for _, h := range hs {
			raw := b[h.Position : h.Position+h.Size]
			_ = CheckRecords(raw, h, false)
			_, _, _, _ = FindRecord(raw, h, func(_, ts int64) bool { return ts > 1000 })
			_, _ = collect(raw)
		}
	})
}
