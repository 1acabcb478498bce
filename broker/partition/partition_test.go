package partition

import (
	"context"
	"errors"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
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

func TestManagerFollowsTopicsAndSetsStraysAside(t *testing.T) {
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
	require.Equal(t, []string{"a-0", "a-1"}, folders(t, m))

	// A topic "a" under a new id whose creation the metadata holds but not
	// the old one's deletion (the metadata lost it): the old folders'
	// records must not show up in the new topic, and nobody can say they
	// are not needed, so they are kept aside; so is a folder with no topic
	// id, and a file is left alone.
	p := mgr.Get("a", 0)
	a, err := p.Append(batch(3), time.Now())
	require.NoError(t, err)
	require.NoError(t, p.WaitCommitted(context.Background(), a, time.Second))
	require.NoError(t, mgr.Close())
	require.NoError(t, m.MkdirAll(filepath.Join("/data", "stray-0"), 0o755))
	f, err := m.OpenFile("/data/file-0", os.O_RDWR|os.O_CREATE, 0o644)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	fresh := image(t, nil, "a", 1, nil)
	mgr2 := newManager(m)
	defer mgr2.Close()
	require.NoError(t, mgr2.Apply(nil, fresh))
	require.Equal(t, int64(0), mgr2.Get("a", 0).LogEndOffset())
	got := folders(t, m)
	require.Len(t, got, 5)
	require.Equal(t, "a-0", got[0])
	require.Regexp(t, `^a-0\.[0-9a-f]{32}-stray$`, got[1])
	require.Regexp(t, `^a-1\.[0-9a-f]{32}-stray$`, got[2])
	require.Equal(t, "file-0", got[3])
	require.Regexp(t, `^stray-0\.[0-9a-f]{32}-stray$`, got[4])
	seg, err := fs.ReadFile(m, filepath.Join("/data", got[1], "00000000000000000000.log"))
	require.NoError(t, err)
	require.NotEmpty(t, seg, "the stray folder keeps its records")

	// Stray folders stay through later starts.
	require.NoError(t, mgr2.Close())
	mgr3 := newManager(m)
	defer mgr3.Close()
	require.NoError(t, mgr3.Apply(nil, fresh))
	require.Equal(t, got, folders(t, m))
}

// folders lists /data.
func folders(t *testing.T, m *fs.Mem) []string {
	t.Helper()
	names, err := m.ReadDir("/data")
	require.NoError(t, err)
	return names
}

// TestManagerRemovesFoldersOfTopicsItSawDeleted: a crash between the
// record deleting a topic and the removal of its folders leaves the folders
// under their names, or renamed "-delete"; the next start removes both, as
// the metadata says their topic was deleted, and a new topic of the same
// name starts empty.
func TestManagerRemovesFoldersOfTopicsItSawDeleted(t *testing.T) {
	m := fs.NewMem()
	mgr := newManager(m)
	im := image(t, nil, "b", 2, nil)
	require.NoError(t, mgr.Apply(nil, im))
	for _, p := range mgr.All() {
		a, err := p.Append(batch(2), time.Now())
		require.NoError(t, err)
		require.NoError(t, p.WaitCommitted(context.Background(), a, time.Second))
	}
	require.NoError(t, mgr.Close())
	// The crash came after b-1 was marked for deletion, before anything
	// else was removed.
	require.NoError(t, m.Rename("/data/b-1", "/data/b-1.0123456789abcdef0123456789abcdef-delete"))

	deleted, err := im.Apply(metadata.Record{RemoveTopic: &metadata.RemoveTopicRecord{TopicID: im.Topics["b"].ID}})
	require.NoError(t, err)
	recreated := image(t, deleted, "b", 1, nil)
	mgr2 := newManager(m)
	defer mgr2.Close()
	require.NoError(t, mgr2.Apply(nil, recreated))
	require.Equal(t, []string{"b-0"}, folders(t, m))
	require.Equal(t, int64(0), mgr2.Get("b", 0).LogEndOffset())
}

// failRemoveAll is a filesystem whose RemoveAll fails.
type failRemoveAll struct{ *fs.Mem }

func (failRemoveAll) RemoveAll(string) error { return errors.New("test: RemoveAll fails") }

// TestManagerDeletesThroughDeleteMark: deleting a topic renames its
// folders "-delete" before removing them, so a removal cut short is finished
// by the next start.
func TestManagerDeletesThroughDeleteMark(t *testing.T) {
	m := fs.NewMem()
	mgr := newManager(failRemoveAll{m})
	im := image(t, nil, "b", 1, nil)
	require.NoError(t, mgr.Apply(nil, im))
	next, err := im.Apply(metadata.Record{RemoveTopic: &metadata.RemoveTopicRecord{TopicID: im.Topics["b"].ID}})
	require.NoError(t, err)
	require.Error(t, mgr.Apply(im, next))
	got := folders(t, m)
	require.Len(t, got, 1)
	require.Regexp(t, `^b-0\.[0-9a-f]{32}-delete$`, got[0])
	require.NoError(t, mgr.Close())

	m.Crash(fs.CrashOptions{})
	mgr2 := newManager(m)
	defer mgr2.Close()
	require.NoError(t, mgr2.Apply(nil, next))
	require.Empty(t, folders(t, m))
}

func TestRetiredFolderNames(t *testing.T) {
	long := strings.Repeat("x", metadata.MaxTopicNameLength)
	for _, k := range []key{{"t", 0}, {"a-b.c_d", 12}, {long, 99999}} {
		for _, suffix := range []string{deleteSuffix, straySuffix} {
			name := retiredFolderName(k, suffix)
			require.LessOrEqual(t, len(name), 255)
			got, ok := parseRetiredFolderName(name, suffix)
			require.True(t, ok, name)
			require.Equal(t, k.index, got.index)
			require.True(t, strings.HasPrefix(k.topic, got.topic), "the topic may be cut short to fit")
		}
	}
	for _, bad := range []string{"t-0", "t-0-delete", "t-0.xyz-delete", "t.0123456789abcdef0123456789abcdef-delete", "t-x.0123456789abcdef0123456789abcdef-delete"} {
		_, ok := parseRetiredFolderName(bad, deleteSuffix)
		require.False(t, ok, bad)
	}
}
