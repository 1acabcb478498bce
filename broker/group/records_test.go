package group

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordo-broker/ordo/broker/recordbatch"
	"github.com/ordo-broker/ordo/broker/storage"
)

// The batch the coordinator writes is one the storage layer accepts (CRC,
// length, magic), and reading it back gives the records with their offsets,
// tombstones still null.
func TestBatchRoundTrip(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_123)
	recs := []Record{
		offsetCommitRecord("g", TopicPartition{"t", 3}, Offset{Offset: 42, LeaderEpoch: 7, Metadata: "meta", CommitTimestamp: now.UnixMilli()}),
		offsetTombstone("g", TopicPartition{"t", 4}),
		groupTombstone("g"),
	}
	raw := EncodeBatch(recs, now)
	batches, err := storage.ParseBatches(raw)
	if err != nil {
		t.Fatalf("storage refuses the batch: %v", err)
	}
	if len(batches) != 1 || batches[0].NumRecords != 3 || batches[0].FirstTimestamp != now.UnixMilli() {
		t.Fatalf("batches = %+v", batches)
	}
	// The broker rewrites the base offset on append.
	recordbatch.SetBaseOffset(raw, 100)

	var got []int64
	var values [][]byte
	next, err := forEachRecord(raw, func(offset int64, key, value []byte) error {
		got = append(got, offset)
		values = append(values, value)
		return nil
	})
	if err != nil || next != 103 {
		t.Fatalf("forEachRecord: next %d, err %v", next, err)
	}
	if len(got) != 3 || got[0] != 100 || got[2] != 102 {
		t.Fatalf("offsets %v", got)
	}
	if values[0] == nil || values[1] != nil || values[2] != nil {
		t.Fatalf("tombstones must stay null: %q", values)
	}

	l := NewLoader(DefaultConfig())
	for i, r := range recs[:1] {
		if err := l.Replay(int64(100+i), r.Key, r.Value); err != nil {
			t.Fatal(err)
		}
	}
	o, ok := l.Groups()["g"].Offset(TopicPartition{"t", 3})
	if !ok || o.Offset != 42 || o.LeaderEpoch != 7 || o.Metadata != "meta" || o.CommitTimestamp != now.UnixMilli() {
		t.Fatalf("loaded offset %+v, %v", o, ok)
	}
}

// The loader reads every record of the log's batches, compressed or not, and
// skips control batches (transaction markers), as it did before; the offset
// after the last batch counts them.
func TestForEachRecordSkipsControlBatches(t *testing.T) {
	at := func(raw []byte, base int64) []byte {
		recordbatch.SetBaseOffset(raw, base)
		return raw
	}
	encode := func(h recordbatch.Header, recs ...Record) []byte {
		var body []byte
		for i, r := range recs {
			body = recordbatch.AppendRecord(body, &kmsg.Record{OffsetDelta: int32(i), Key: r.Key, Value: r.Value})
		}
		h.LastOffsetDelta, h.NumRecords = int32(len(recs)-1), int32(len(recs))
		h.ProducerID, h.ProducerEpoch, h.BaseSequence = -1, -1, -1
		raw, err := recordbatch.Append(nil, h, body)
		require.NoError(t, err)
		return raw
	}
	commit := offsetCommitRecord("g", TopicPartition{"t", 0}, Offset{Offset: 5})
	var raw []byte
	raw = append(raw, at(EncodeBatch([]Record{commit}, time.UnixMilli(1)), 10)...)
	raw = append(raw, at(encode(recordbatch.Header{Attributes: recordbatch.AttrControl | recordbatch.AttrTransactional},
		Record{Key: []byte{0, 0, 0, 1}, Value: []byte{0, 0, 0, 0, 0, 0}}), 11)...)
	for codec := int16(1); codec <= 4; codec++ {
		raw = append(raw, at(encode(recordbatch.Header{Attributes: codec}, commit, groupTombstone("g")), 10+2*int64(codec))...)
	}

	var offsets []int64
	next, err := forEachRecord(raw, func(offset int64, key, value []byte) error {
		offsets = append(offsets, offset)
		assert.NotEqual(t, []byte{0, 0, 0, 1}, key, "a control record reached the loader")
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, int64(20), next)
	assert.Equal(t, []int64{10, 12, 13, 14, 15, 16, 17, 18, 19}, offsets)

	_, err = forEachRecord(raw[:len(raw)-1], func(int64, []byte, []byte) error { return nil })
	assert.ErrorIs(t, err, storage.ErrCorruptBatch)
}

// Records are Kafka's: key version 1 for offsets and 2 for groups, value
// versions 3; keys of records Ordo does not know are skipped, and an offset
// record of an older version still loads.
func TestRecordFormats(t *testing.T) {
	r := offsetCommitRecord("g", TopicPartition{"t", 0}, Offset{Offset: 1})
	if v := binary.BigEndian.Uint16(r.Key); v != 1 {
		t.Errorf("offset key version %d", v)
	}
	if v := binary.BigEndian.Uint16(r.Value); v != 3 {
		t.Errorf("offset value version %d", v)
	}
	if v := binary.BigEndian.Uint16(groupTombstone("g").Key); v != 2 {
		t.Errorf("group key version %d", v)
	}

	// A KIP-848 record (key version 3+) is not ours to read.
	if rec, err := DecodeRecord([]byte{0, 3, 0, 1, 'g'}, []byte{0, 0}); err != nil || rec.Offset != nil || rec.Group != nil {
		t.Errorf("unknown key: %+v, %v", rec, err)
	}
	if _, err := DecodeRecord([]byte{0}, nil); err == nil {
		t.Error("a one-byte key must not decode")
	}

	// Offset value v1 (with expiry, no leader epoch) from an older Kafka.
	old := kmsg.OffsetCommitValue{Version: 1, Offset: 9, Metadata: "m", CommitTimestamp: 5, ExpireTimestamp: 6}
	key := kmsg.OffsetCommitKey{Version: 0, Group: "g", Topic: "t", Partition: 2}
	l := NewLoader(DefaultConfig())
	if err := l.Replay(0, key.AppendTo(nil), old.AppendTo(nil)); err != nil {
		t.Fatal(err)
	}
	if o, ok := l.Groups()["g"].Offset(TopicPartition{"t", 2}); !ok || o.Offset != 9 || o.LeaderEpoch != -1 {
		t.Errorf("old offset loaded as %+v, %v", o, ok)
	}
	// A group tombstone removes the group.
	if err := l.Replay(1, groupTombstone("g").Key, nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := l.Groups()["g"]; ok {
		t.Error("group survived its tombstone")
	}
}
