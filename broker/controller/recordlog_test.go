package controller

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/ordo-broker/ordo/broker/metadata"
	"github.com/stretchr/testify/require"
)

const logPath = "/data/__cluster_metadata-0/metadata.log"

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// writtenLog is a metadata log of six changes (a broker, five topics), and
// the offsets where its lines start.
func writtenLog(t *testing.T) (*fs.Mem, []byte, []int) {
	t.Helper()
	m := fs.NewMem()
	require.NoError(t, m.MkdirAll("/data", 0o755))
	c, err := Open(m, "/data/__cluster_metadata-0", "cluster", quiet)
	require.NoError(t, err)
	require.NoError(t, c.RegisterBroker(metadata.BrokerRecord{NodeID: 0, Host: "127.0.0.1", Port: 9092}))
	for i := range 5 {
		_, err := c.CreateTopic(CreateTopic{Name: fmt.Sprintf("t%d", i), NumPartitions: 2, ReplicationFactor: 1}, defaults, false)
		require.NoError(t, err)
	}
	require.NoError(t, c.Close())
	data, err := fs.ReadFile(m, logPath)
	require.NoError(t, err)
	starts := []int{0}
	for i, b := range data {
		if b == '\n' && i+1 < len(data) {
			starts = append(starts, i+1)
		}
	}
	require.Len(t, starts, 6)
	return m, data, starts
}

func writeLog(t *testing.T, m *fs.Mem, data []byte) {
	t.Helper()
	f, err := m.OpenFile(logPath, os.O_RDWR|os.O_TRUNC, 0)
	require.NoError(t, err)
	_, err = f.Write(data)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

// TestRecordLogDamageInTheMiddle flips one bit of every byte of a line in the middle of the log (its newline included): the controller
// refuses to open it, names the file and the offset of the damaged line, and
// leaves the file as it was.
func TestRecordLogDamageInTheMiddle(t *testing.T) {
	m, data, starts := writtenLog(t)
	line, end := starts[2], starts[3]
	for i := line; i < end; i++ {
		damaged := bytes.Clone(data)
		damaged[i] ^= 0x01
		writeLog(t, m, damaged)
		_, err := Open(m, "/data/__cluster_metadata-0", "cluster", quiet)
		require.ErrorIs(t, err, ErrCorruptMetadataLog, "byte %d", i)
		require.ErrorContains(t, err, fmt.Sprintf("%s is damaged at byte offset %d (line 3", logPath, line), "byte %d", i)
		require.ErrorContains(t, err, "intact change(s) follow", "byte %d", i)
		after, err := fs.ReadFile(m, logPath)
		require.NoError(t, err)
		require.Equal(t, damaged, after, "a refused log is not touched")
	}
}

// TestRecordLogTornTail cuts the last change short at every length: the
// controller opens with every change before it, and cuts the torn bytes off.
// A tail of zeros (a filesystem that grew the file but never wrote it) is
// torn too, as is a last line whose checksum fails.
func TestRecordLogTornTail(t *testing.T) {
	m, data, starts := writtenLog(t)
	last := starts[len(starts)-1]
	tails := map[string][]byte{}
	for n := last; n < len(data); n++ {
		tails[fmt.Sprintf("cut at %d", n)] = data[:n]
	}
	tails["zeros"] = append(bytes.Clone(data[:last]), make([]byte, 300)...)
	bad := bytes.Clone(data)
	bad[len(bad)-3] ^= 0x01
	tails["bad checksum on the last line"] = bad
	for name, torn := range tails {
		writeLog(t, m, torn)
		c, err := Open(m, "/data/__cluster_metadata-0", "cluster", quiet)
		require.NoError(t, err, name)
		require.Equal(t, []string{"t0", "t1", "t2", "t3"}, c.Image().TopicNames(), name)
		require.NoError(t, c.Close())
		after, err := fs.ReadFile(m, logPath)
		require.NoError(t, err)
		require.Equal(t, data[:last], after, "%s: the torn tail is cut off", name)
	}
}

// TestRecordLogReadsOlderLines: lines without a checksum, as an older Ordo
// wrote them, are still read, and new lines are appended with one.
func TestRecordLogReadsOlderLines(t *testing.T) {
	m := fs.NewMem()
	require.NoError(t, m.MkdirAll("/data/__cluster_metadata-0", 0o755))
	writeLog := func(data string) {
		f, err := m.OpenFile(logPath, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
		require.NoError(t, err)
		_, err = f.Write([]byte(data))
		require.NoError(t, err)
		require.NoError(t, f.Close())
	}
	writeLog(`[{"broker":{"node_id":0,"host":"127.0.0.1","port":9092}}]` + "\n" +
		`[{"topic":{"name":"old","topic_id":"0123456789abcdef0123456789abcdef"}},{"partition":{"topic_id":"0123456789abcdef0123456789abcdef","partition":0,"replicas":[0],"isr":[0],"leader":0,"leader_epoch":0,"partition_epoch":0}}]` + "\n")
	c, err := Open(m, "/data/__cluster_metadata-0", "cluster", quiet)
	require.NoError(t, err)
	require.Equal(t, []string{"old"}, c.Image().TopicNames())
	_, err = c.CreateTopic(CreateTopic{Name: "new", NumPartitions: 1, ReplicationFactor: 1}, defaults, false)
	require.NoError(t, err)
	require.NoError(t, c.Close())
	c, err = Open(m, "/data/__cluster_metadata-0", "cluster", quiet)
	require.NoError(t, err)
	require.Equal(t, []string{"new", "old"}, c.Image().TopicNames())
	require.NoError(t, c.Close())

	// Damage in an old line is caught too, when intact changes follow.
	writeLog(`[{"broker":{"node_id":0,"host":"127.0.0.1","port":9092}}]` + "\n" +
		`[{"broker":{"node_id":0,"host":"127.0.0.1","port":9093}` + "\n" +
		`[{"broker":{"node_id":0,"host":"127.0.0.1","port":9094}}]` + "\n")
	_, err = Open(m, "/data/__cluster_metadata-0", "cluster", quiet)
	require.ErrorIs(t, err, ErrCorruptMetadataLog)
}

// TestRecordLogChangeThatDoesNotFit: an intact line whose records do not
// fit the image (a partition of a topic never created) stops the start too,
// with the file and offset.
func TestRecordLogChangeThatDoesNotFit(t *testing.T) {
	m := fs.NewMem()
	require.NoError(t, m.MkdirAll("/data/__cluster_metadata-0", 0o755))
	f, err := m.OpenFile(logPath, os.O_RDWR|os.O_CREATE, 0o644)
	require.NoError(t, err)
	line, err := encodeChange([]metadata.Record{{RemoveTopic: &metadata.RemoveTopicRecord{TopicID: metadata.NewTopicID()}}})
	require.NoError(t, err)
	_, err = f.Write(line)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	_, err = Open(m, "/data/__cluster_metadata-0", "cluster", quiet)
	require.ErrorIs(t, err, ErrCorruptMetadataLog)
	require.ErrorContains(t, err, logPath+" at byte offset 0")
}
