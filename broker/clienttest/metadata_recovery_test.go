package clienttest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ordo-broker/ordo/broker/controller"
	"github.com/ordo-broker/ordo/broker/ordotest"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
)

// What a broker does with a damaged metadata log (its topics), as a user
// sees it: damage before the end stops the start and changes nothing on
// disk; a torn last write is cut off; a partition folder whose topic the
// metadata does not know is set aside, never deleted.

// metadataLogPath is where b keeps its metadata log.
func metadataLogPath(b *ordotest.Broker) string {
	return filepath.Join(b.DataDir(), "__cluster_metadata-0", "metadata.log")
}

// topicsWithRecords creates the topics, one partition each, and produces n
// records to each.
func topicsWithRecords(t *testing.T, b *ordotest.Broker, n int, topics ...string) {
	t.Helper()
	ctx := testContext(t, 60*time.Second)
	adm := newAdmin(t, b)
	cl := newClient(t, b)
	for _, topic := range topics {
		createTopic(t, ctx, adm, topic, 1, nil)
		produceAll(t, ctx, cl, keyedRecords(topic, n, pastBase()))
	}
}

func requireRecords(t *testing.T, b *ordotest.Broker, n int, topics ...string) {
	t.Helper()
	ctx := testContext(t, 60*time.Second)
	for _, topic := range topics {
		require.Equal(t, map[int32]int{0: n}, counts(drain(t, ctx, b, topic)), topic)
	}
}

// TestMetadataLogDamagedInTheMiddle: one flipped byte in the middle of the
// metadata log of a broker that created topics stops the next start with
// an error naming the file and the offset, and deletes nothing; once the
// byte is repaired the broker starts with every topic and record.
func TestMetadataLogDamagedInTheMiddle(t *testing.T) {
	t.Parallel()
	b := ordotest.Start(t)
	topics := []string{"m0", "m1", "m2", "m3", "m4", "m5"}
	topicsWithRecords(t, b, 20, topics...)
	path := metadataLogPath(b)
	require.NoError(t, b.Close())

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	mid := len(data) / 2
	require.Less(t, mid, bytes.LastIndexByte(data[:len(data)-1], '\n'), "the damage is not on the last line")
	damaged := bytes.Clone(data)
	damaged[mid] ^= 0x01
	require.NoError(t, os.WriteFile(path, damaged, 0o644))

	err = b.TryRestart()
	require.ErrorIs(t, err, controller.ErrCorruptMetadataLog)
	require.ErrorContains(t, err, path+" is damaged at byte offset ")
	for _, topic := range topics {
		require.DirExists(t, filepath.Join(b.DataDir(), topic+"-0"), "nothing is deleted")
	}
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, damaged, after, "nothing is truncated")

	require.NoError(t, os.WriteFile(path, data, 0o644))
	require.NoError(t, b.TryRestart())
	requireRecords(t, b, 20, topics...)
}

// TestMetadataLogTornTail: the metadata log's last change (creating a
// topic) cut short, as a crash in its write would: the broker starts with
// every change before it. The topic it created is unknown again, and its
// partition folder, records and all, is renamed stray and kept.
func TestMetadataLogTornTail(t *testing.T) {
	t.Parallel()
	b := ordotest.Start(t)
	topicsWithRecords(t, b, 20, "kept-a", "kept-b")
	topicsWithRecords(t, b, 7, "last")
	path := metadataLogPath(b)
	require.NoError(t, b.Close())

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	last := bytes.LastIndexByte(data[:len(data)-1], '\n') + 1
	require.Contains(t, string(data[last:]), `"name":"last"`, "the last change creates the topic")
	require.NoError(t, os.Truncate(path, int64(last+(len(data)-last)/2)))

	require.NoError(t, b.TryRestart())
	requireRecords(t, b, 20, "kept-a", "kept-b")
	ctx := testContext(t, 30*time.Second)
	listed, err := newAdmin(t, b).ListTopics(ctx)
	require.NoError(t, err)
	require.False(t, listed.Has("last"), "the torn change is gone")

	strays, err := filepath.Glob(filepath.Join(b.DataDir(), "last-0.*-stray"))
	require.NoError(t, err)
	require.Len(t, strays, 1, "the folder is set aside, not deleted")
	require.Regexp(t, `last-0\.[0-9a-f]{32}-stray$`, strays[0])
	seg, err := os.Stat(filepath.Join(strays[0], "00000000000000000000.log"))
	require.NoError(t, err)
	require.NotZero(t, seg.Size(), "its records are still on disk")
	require.NoDirExists(t, filepath.Join(b.DataDir(), "last-0"))

	// The stray folder does not get in the way of a new topic of that name.
	createTopic(t, ctx, newAdmin(t, b), "last", 1, nil)
	produceAll(t, ctx, newClient(t, b), []*kgo.Record{{Topic: "last", Value: []byte("new")}})
	requireRecords(t, b, 1, "last")
}
