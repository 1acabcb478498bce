package storage

import (
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseBatches(t *testing.T) {
	good := makeBatch(t, 0, 10, 30, 20)
	two := append(append([]byte(nil), good...), makeBatch(t, 2, 40)...)
	recrc := func(b []byte) []byte {
		binary.BigEndian.PutUint32(b[posCRC:], crc32.Checksum(b[posAttributes:], castagnoli))
		return b
	}
	mutate := func(f func(b []byte) []byte) []byte {
		return f(append([]byte(nil), good...))
	}
	tests := []struct {
		name    string
		in      []byte
		wantErr error
		want    []Batch
	}{
		{name: "one batch", in: good, want: []Batch{{
			BaseOffset: 0, PartitionLeaderEpoch: -1, LastOffsetDelta: 2, FirstTimestamp: 10, MaxTimestamp: 30,
			ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, NumRecords: 3, Position: 0, Size: len(good),
		}}},
		{name: "empty", in: nil, wantErr: ErrCorruptBatch},
		{name: "shorter than the prefix", in: good[:8], wantErr: ErrCorruptBatch},
		{name: "shorter than the header", in: good[:40], wantErr: ErrCorruptBatch},
		{name: "truncated records", in: good[:len(good)-1], wantErr: ErrCorruptBatch},
		{name: "trailing garbage", in: append(append([]byte(nil), good...), 0, 0, 0), wantErr: ErrCorruptBatch},
		{name: "length too small", in: mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[posLength:], 10)
			return b
		}), wantErr: ErrCorruptBatch},
		{name: "negative length", in: mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[posLength:], 0xffffffff)
			return b
		}), wantErr: ErrCorruptBatch},
		{name: "length past the end", in: mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[posLength:], uint32(len(b)))
			return b
		}), wantErr: ErrCorruptBatch},
		{name: "magic 1", in: mutate(func(b []byte) []byte { b[posMagic] = 1; return b }), wantErr: ErrInvalidMagic},
		{name: "magic 0 in a short message", in: mutate(func(b []byte) []byte { b[posMagic] = 0; return b[:30] }), wantErr: ErrInvalidMagic},
		{name: "bad CRC", in: mutate(func(b []byte) []byte { b[len(b)-3] ^= 1; return b }), wantErr: ErrCorruptBatch},
		{name: "bad CRC in the second batch", in: func() []byte {
			b := append([]byte(nil), two...)
			b[len(b)-1] ^= 1
			return b
		}(), wantErr: ErrCorruptBatch},
		{name: "zero records", in: mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[posNumRecords:], 0)
			binary.BigEndian.PutUint32(b[posLastOffsetDelta:], 0xffffffff)
			return recrc(b)
		}), wantErr: ErrCorruptBatch},
		{name: "last offset delta disagrees", in: mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[posLastOffsetDelta:], 5)
			return recrc(b)
		}), wantErr: ErrCorruptBatch},
		{name: "more records than bytes", in: mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[posNumRecords:], 1000)
			binary.BigEndian.PutUint32(b[posLastOffsetDelta:], 999)
			return recrc(b)
		}), wantErr: ErrCorruptBatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseBatches(tt.in)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}

	t.Run("two batches", func(t *testing.T) {
		got, err := ParseBatches(two)
		require.NoError(t, err)
		require.Len(t, got, 2)
		assert.Equal(t, len(good), got[1].Position)
		assert.Equal(t, int8(2), got[1].Compression())
		assert.Equal(t, int64(0), got[1].LastOffset())
	})
}

func TestBatchAttributes(t *testing.T) {
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
		b := Batch{Attributes: tt.attrs, BaseOffset: 10, LastOffsetDelta: 4}
		assert.Equal(t, tt.codec, b.Compression())
		assert.Equal(t, tt.logAppend, b.LogAppendTime())
		assert.Equal(t, tt.transactional, b.Transactional())
		assert.Equal(t, tt.ctrl, b.Control())
		assert.Equal(t, int64(14), b.LastOffset())
	}
}
