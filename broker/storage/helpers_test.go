package storage

import (
	"bytes"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/ordo-broker/ordo/broker/recordbatch"
)

const testDir = "/data/topic-0"

// makeBatch builds a v2 batch (base offset 0, as a producer sends it) of
// one record per timestamp, compressed with codec, with a correct CRC.
func makeBatch(t testing.TB, codec int8, timestamps ...int64) []byte {
	t.Helper()
	require.NotEmpty(t, timestamps)
	first, maxTS := timestamps[0], timestamps[0]
	for _, ts := range timestamps {
		first, maxTS = min(first, ts), max(maxTS, ts)
	}
	recs := make([]kmsg.Record, len(timestamps))
	for i, ts := range timestamps {
		recs[i] = kmsg.Record{
			TimestampDelta64: ts - first,
			OffsetDelta:      int32(i),
			Key:              []byte(fmt.Sprintf("k%d", i)),
			Value:            bytes.Repeat([]byte{byte('a' + i%26)}, 20),
		}
	}
	return encodeBatch(t, Batch{
		PartitionLeaderEpoch: -1,
		Attributes:           int16(codec),
		LastOffsetDelta:      int32(len(timestamps) - 1),
		FirstTimestamp:       first,
		MaxTimestamp:         maxTS,
		ProducerID:           -1,
		ProducerEpoch:        -1,
		BaseSequence:         -1,
		NumRecords:           int32(len(timestamps)),
	}, recs)
}

// encodeBatch encodes a batch with h's header and recs.
func encodeBatch(t testing.TB, h Batch, recs []kmsg.Record) []byte {
	t.Helper()
	var records []byte
	for i := range recs {
		records = recordbatch.AppendRecord(records, &recs[i])
	}
	raw, err := recordbatch.Append(nil, h, records)
	require.NoError(t, err)
	return raw
}

// simpleBatch is an uncompressed batch of n records at timestamp ts.
func simpleBatch(t testing.TB, n int, ts int64) []byte {
	tss := make([]int64, n)
	for i := range tss {
		tss[i] = ts
	}
	return makeBatch(t, 0, tss...)
}

// fakeClock is a settable clock for segment.ms.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openLog(t testing.TB, fsys fs.FS, cfg Config, clock *fakeClock) *Log {
	t.Helper()
	if clock == nil {
		clock = newClock()
	}
	l, err := Open(fsys, testDir, cfg, clock.now)
	require.NoError(t, err)
	return l
}

func mustAppend(t testing.TB, l *Log, records []byte, epoch int32) AppendInfo {
	t.Helper()
	info, err := l.Append(records, epoch, -1)
	require.NoError(t, err)
	return info
}

// span is a batch's offsets.
type span struct{ base, last int64 }

// spans parses a Read result, checking every batch (CRC included), and
// returns the batches' offsets.
func spans(t testing.TB, b []byte) []span {
	t.Helper()
	if len(b) == 0 {
		return nil
	}
	batches, err := ParseBatches(b)
	require.NoError(t, err, "Read returned bytes that are not whole valid batches")
	out := make([]span, len(batches))
	for i, h := range batches {
		out[i] = span{h.BaseOffset, h.LastOffset()}
	}
	return out
}

// readAllLog reads the whole log and checks that offsets are dense from the
// log start offset's batch to the log end offset.
func readAllLog(t testing.TB, l *Log) []byte {
	t.Helper()
	b, err := l.Read(l.LogStartOffset(), l.LogEndOffset(), 1<<30, true)
	require.NoError(t, err)
	ss := spans(t, b)
	for i := 1; i < len(ss); i++ {
		require.Equal(t, ss[i-1].last+1, ss[i].base, "offsets are dense")
	}
	if len(ss) > 0 {
		require.Equal(t, l.LogEndOffset(), ss[len(ss)-1].last+1)
	}
	return b
}

// segmentFiles lists the .log files of the test partition.
func segmentFiles(t testing.TB, fsys fs.FS) []string {
	t.Helper()
	names, err := fsys.ReadDir(testDir)
	require.NoError(t, err)
	var logs []string
	for _, n := range names {
		if _, ok := parseSegmentName(n, logExt); ok {
			logs = append(logs, n)
		}
	}
	return logs
}

// flipByte flips one bit of a file's byte at pos (negative: from the end).
func flipByte(t testing.TB, fsys fs.FS, name string, pos int64) {
	t.Helper()
	f, err := fsys.OpenFile(name, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	if pos < 0 {
		info, err := f.Stat()
		require.NoError(t, err)
		pos += info.Size()
	}
	b := make([]byte, 1)
	_, err = f.ReadAt(b, pos)
	require.NoError(t, err)
	b[0] ^= 0x10
	_, err = f.WriteAt(b, pos)
	require.NoError(t, err)
	require.NoError(t, f.Sync())
}
