package loadgen

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
)

// A record value the load generator writes is laid out as
//
//	0:4    magic "ordo"
//	4:8    CRC-32C of bytes 8:end
//	8:16   sequence number, 0..N-1 across the whole run (big endian)
//	16:24  wall-clock time the record was handed to the producer, Unix ns
//	24:28  index of the producer that wrote it
//	28:end padding: incompressible bytes, so that compression flatters nobody
//
// The CRC lets the checker tell a corrupted or foreign record from a
// misplaced one even when the broker recomputed the batch CRC.
const (
	headerSize    = 28
	MinRecordSize = 32
	MaxRecordSize = 16 << 20
	magic         = "ordo"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// record is the decoded header of one value.
type record struct {
	seq      int64
	sentNano int64
	producer int
}

// padding is a block of random bytes that values copy their padding from, at
// an offset that depends on the sequence number.
type padding []byte

func newPadding(recordSize int) padding {
	p := make([]byte, recordSize+256)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range p {
		p[i] = byte(r.Uint32())
	}
	return p
}

// encode fills v (len(v) is the record size) with the record.
func (p padding) encode(v []byte, r record) {
	copy(v[0:4], magic)
	binary.BigEndian.PutUint64(v[8:16], uint64(r.seq))
	binary.BigEndian.PutUint64(v[16:24], uint64(r.sentNano))
	binary.BigEndian.PutUint32(v[24:28], uint32(r.producer))
	off := int(r.seq % 256)
	copy(v[headerSize:], p[off:off+len(v)-headerSize])
	binary.BigEndian.PutUint32(v[4:8], crc32.Checksum(v[8:], castagnoli))
}

var errNotOurs = errors.New("not a load generator record")

// decode checks and decodes a value of the expected size.
func decode(v []byte, recordSize int) (record, error) {
	if len(v) != recordSize {
		return record{}, fmt.Errorf("value is %d bytes, want %d", len(v), recordSize)
	}
	if string(v[0:4]) != magic {
		return record{}, errNotOurs
	}
	if got, want := crc32.Checksum(v[8:], castagnoli), binary.BigEndian.Uint32(v[4:8]); got != want {
		return record{}, fmt.Errorf("CRC-32C mismatch: value hashes to %08x, header says %08x", got, want)
	}
	return record{
		seq:      int64(binary.BigEndian.Uint64(v[8:16])),
		sentNano: int64(binary.BigEndian.Uint64(v[16:24])),
		producer: int(binary.BigEndian.Uint32(v[24:28])),
	}, nil
}

// seqOf reads the sequence number of a value we encoded ourselves.
func seqOf(v []byte) int64 { return int64(binary.BigEndian.Uint64(v[8:16])) }
