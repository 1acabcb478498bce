package partition

import (
	"context"
	"hash/crc32"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/ordo-broker/ordo/broker/metadata"
	"github.com/ordo-broker/ordo/broker/storage"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func batch(n int) []byte {
	var recs []byte
	for i := 0; i < n; i++ {
		r := kmsg.Record{OffsetDelta: int32(i), Value: []byte("v")}
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		recs = r.AppendTo(recs)
	}
	rb := kmsg.RecordBatch{Magic: 2, LastOffsetDelta: int32(n - 1), FirstTimestamp: 1000, MaxTimestamp: 1000,
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: int32(n), Records: recs}
	rb.Length = int32(len(rb.AppendTo(nil)) - 12)
	raw := rb.AppendTo(nil)
	rb.CRC = int32(crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return rb.AppendTo(nil)
}

// image builds a metadata image with one topic of n partitions on node 0.
func image(t *testing.T, base *metadata.Image, name string, n int, configs map[string]string) *metadata.Image {
	t.Helper()
	if base == nil {
		base = metadata.NewImage("c")
	}
	id := metadata.NewTopicID()
	recs := []metadata.Record{{Topic: &metadata.TopicRecord{Name: name, TopicID: id}}}
	for i := 0; i < n; i++ {
		recs = append(recs, metadata.Record{Partition: &metadata.PartitionRecord{TopicID: id, Partition: int32(i), Replicas: []int32{0}, ISR: []int32{0}, Leader: 0}})
	}
	for k, v := range configs {
		recs = append(recs, metadata.Record{Config: &metadata.ConfigRecord{Topic: name, Name: k, Value: &v}})
	}
	im, err := base.Apply(recs...)
	require.NoError(t, err)
	return im
}

func newManager(m fs.FS) *Manager {
	return NewManager(Config{FS: m, Dir: "/data", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

func TestIntervalPolicyCommitsAtOnce(t *testing.T) {
	m := fs.NewMem()
	mgr := newManager(m)
	defer mgr.Close()
	require.NoError(t, mgr.Apply(nil, image(t, nil, "t", 1, map[string]string{"flush.messages": "9223372036854775807"})))
	p := mgr.Get("t", 0)
	a, err := p.Append(batch(2), time.Now())
	require.NoError(t, err)
	require.Equal(t, int64(2), p.HighWatermark())
	require.Less(t, p.log.SyncedOffset(), int64(2), "nothing fsynced yet")
	require.NoError(t, p.WaitCommitted(context.Background(), a, time.Second))
	require.NoError(t, mgr.FlushAll())
	require.Equal(t, int64(2), p.log.SyncedOffset())
}

func TestAppendValidates(t *testing.T) {
	mgr := newManager(fs.NewMem())
	defer mgr.Close()
	require.NoError(t, mgr.Apply(nil, image(t, nil, "t", 1, map[string]string{"max.message.bytes": "200"})))
	p := mgr.Get("t", 0)
	_, err := p.Append(batch(50), time.Now())
	require.ErrorIs(t, err, ErrMessageTooLarge)
	bad := batch(1)
	bad[len(bad)-1] ^= 1
	_, err = p.Append(bad, time.Now())
	require.ErrorIs(t, err, storage.ErrCorruptBatch)
	require.Equal(t, int64(0), p.LogEndOffset())
}

func TestCheckLeaderEpoch(t *testing.T) {
	mgr := newManager(fs.NewMem())
	defer mgr.Close()
	im := image(t, nil, "t", 1, nil)
	require.NoError(t, mgr.Apply(nil, im))
	// A leader change to epoch 2.
	pr := im.Topics["t"].Partitions[0]
	pr.LeaderEpoch = 2
	next, err := im.Apply(metadata.Record{Partition: &pr})
	require.NoError(t, err)
	require.NoError(t, mgr.Apply(im, next))
	p := mgr.Get("t", 0)
	require.NoError(t, p.CheckLeaderEpoch(-1))
	require.NoError(t, p.CheckLeaderEpoch(2))
	require.ErrorIs(t, p.CheckLeaderEpoch(1), ErrFencedLeaderEpoch)
	require.ErrorIs(t, p.CheckLeaderEpoch(3), ErrUnknownLeaderEpoch)

	// Appends are stamped with the current epoch.
	a, err := p.Append(batch(1), time.Now())
	require.NoError(t, err)
	require.NoError(t, p.WaitCommitted(context.Background(), a, time.Second))
	e, end := p.log.EndOffsetForEpoch(2)
	require.Equal(t, int32(2), e)
	require.Equal(t, int64(1), end)
}

func TestDeleteRecordsBefore(t *testing.T) {
	mgr := newManager(fs.NewMem())
	defer mgr.Close()
	require.NoError(t, mgr.Apply(nil, image(t, nil, "t", 1, nil)))
	p := mgr.Get("t", 0)
	a, err := p.Append(batch(5), time.Now())
	require.NoError(t, err)
	require.NoError(t, p.WaitCommitted(context.Background(), a, time.Second))
	low, err := p.DeleteRecordsBefore(2)
	require.NoError(t, err)
	require.Equal(t, int64(2), low)
	_, err = p.DeleteRecordsBefore(6)
	require.ErrorIs(t, err, storage.ErrOffsetOutOfRange)
	low, err = p.DeleteRecordsBefore(-1)
	require.NoError(t, err)
	require.Equal(t, int64(5), low)
	_, _, err = p.Read(0, 100, true)
	require.ErrorIs(t, err, storage.ErrOffsetOutOfRange)
}

func TestManagerFollowsTopicsAndRemovesStrays(t *testing.T) {
	m := fs.NewMem()
	mgr := newManager(m)
	im := image(t, nil, "a", 2, nil)
	im = image(t, im, "b", 1, nil)
	require.NoError(t, mgr.Apply(nil, im))
	require.Len(t, mgr.All(), 3)

	// Deleting b removes its folder.
	next, err := im.Apply(metadata.Record{RemoveTopic: &metadata.RemoveTopicRecord{TopicID: im.Topics["b"].ID}})
	require.NoError(t, err)
	require.NoError(t, mgr.Apply(im, next))
	require.Nil(t, mgr.Get("b", 0))
	_, err = m.Stat("/data/b-0")
	require.True(t, fs.IsNotExist(err))

	// A topic "a" recreated under a new id while the broker was down: the
	// old folder's records must not show up in the new topic, and a stray
	// folder nobody owns is removed.
	p := mgr.Get("a", 0)
	a, err := p.Append(batch(3), time.Now())
	require.NoError(t, err)
	require.NoError(t, p.WaitCommitted(context.Background(), a, time.Second))
	require.NoError(t, mgr.Close())
	require.NoError(t, m.MkdirAll(filepath.Join("/data", "stray-0"), 0o755))

	fresh := image(t, nil, "a", 1, nil)
	mgr2 := newManager(m)
	defer mgr2.Close()
	require.NoError(t, mgr2.Apply(nil, fresh))
	require.Equal(t, int64(0), mgr2.Get("a", 0).LogEndOffset())
	_, err = m.Stat("/data/stray-0")
	require.True(t, fs.IsNotExist(err))
	_, err = m.Stat("/data/a-1")
	require.True(t, fs.IsNotExist(err), "partition 1 of the old topic is gone")
}
