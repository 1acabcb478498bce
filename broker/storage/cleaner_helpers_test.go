package storage

import (
	"errors"
	"math"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/ordo-broker/ordo/broker/recordbatch"
	"github.com/ordo-broker/ordo/model"
)

// kv is one record to produce: a nil key is no key, a nil value a
// tombstone.
type kv struct{ key, value []byte }

func rec(key, value string) kv { return kv{[]byte(key), []byte(value)} }
func tomb(key string) kv       { return kv{key: []byte(key)} }
func nokey(value string) kv    { return kv{value: []byte(value)} }

// producer fields of a batch; noProducer for a plain producer.
type producerFields struct {
	id    int64
	epoch int16
	seq   int32
}

var noProducer = producerFields{-1, -1, -1}

// keyedBatch builds a batch (base offset 0) of recs, the i-th record at
// timestamp ts+i, compressed with codec.
func keyedBatch(t testing.TB, codec int8, ts int64, recs ...kv) []byte {
	return producerBatch(t, codec, noProducer, ts, recs...)
}

func producerBatch(t testing.TB, codec int8, p producerFields, ts int64, recs ...kv) []byte {
	t.Helper()
	records := make([]kmsg.Record, len(recs))
	for i, kv := range recs {
		records[i] = kmsg.Record{TimestampDelta64: int64(i), OffsetDelta: int32(i), Key: kv.key, Value: kv.value}
	}
	return encodeBatch(t, Batch{
		PartitionLeaderEpoch: -1, Attributes: int16(codec),
		LastOffsetDelta: int32(len(recs) - 1), FirstTimestamp: ts, MaxTimestamp: ts + int64(len(recs)-1),
		ProducerID: p.id, ProducerEpoch: p.epoch, BaseSequence: p.seq,
		NumRecords: int32(len(recs)),
	}, records)
}

// storedRecord is a record as read back from the log.
type storedRecord struct {
	Offset    int64
	Key       []byte
	Value     []byte
	Timestamp int64
}

// toModel converts to the model's records (a nil value is a tombstone; a nil
// key becomes "", which the model takes for no key).
func toModel(rs []storedRecord) []model.Record {
	out := make([]model.Record, len(rs))
	for i, r := range rs {
		out[i] = model.Record{Offset: r.Offset, Key: string(r.Key), Value: string(r.Value), Tombstone: r.Value == nil}
	}
	return out
}

// logBatches reads every batch from the log start offset to the log end,
// checks each (CRC, counts) as stored batches, and checks that offsets only
// grow.
func logBatches(t testing.TB, l *Log) ([]Batch, []byte) {
	t.Helper()
	b, err := l.Read(l.LogStartOffset(), l.LogEndOffset(), math.MaxInt32, true)
	require.NoError(t, err)
	if len(b) == 0 {
		return nil, nil
	}
	batches, err := recordbatch.ParseAll(b)
	require.NoError(t, err, "Read returned bytes that are not whole valid batches")
	for i := 1; i < len(batches); i++ {
		require.Greater(t, batches[i].BaseOffset, batches[i-1].LastOffset(), "offsets grow")
	}
	require.Equal(t, l.LogEndOffset(), batches[len(batches)-1].LastOffset()+1, "the last batch ends at the log end")
	return batches, b
}

// logRecords decodes every record from the log start offset on.
func logRecords(t testing.TB, l *Log) []storedRecord {
	t.Helper()
	batches, b := logBatches(t, l)
	var out []storedRecord
	for _, h := range batches {
		raw := b[h.Position : h.Position+h.Size]
		for r, err := range recordbatch.Records(raw) {
			require.NoError(t, err)
			if r.Offset < l.LogStartOffset() {
				continue
			}
			out = append(out, storedRecord{Offset: r.Offset, Key: clone(r.Key), Value: clone(r.Value), Timestamp: r.Timestamp})
		}
	}
	for i := 1; i < len(out); i++ {
		require.Greater(t, out[i].Offset, out[i-1].Offset)
	}
	return out
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

// requireContiguous checks the invariant the cleaner keeps: every segment
// ends where the next one starts.
func requireContiguous(t testing.TB, l *Log) {
	t.Helper()
	l.mu.RLock()
	defer l.mu.RUnlock()
	for i := 1; i < len(l.segments); i++ {
		require.Equal(t, l.segments[i].base, l.segments[i-1].next, "segment %d ends where segment %d starts", i-1, i)
	}
}

// forced is a compaction that runs whatever the dirty ratio, with nothing
// bounding it: every closed, synced segment is cleanable.
func forced(dropTombstones bool) CleanOptions {
	o := CleanOptions{HighWatermark: math.MaxInt64, DeleteRetentionMs: math.MaxInt64 / 2, Force: true}
	if dropTombstones {
		o.DeleteRetentionMs = -1
	}
	return o
}

func mustClean(t testing.TB, l *Log, opts CleanOptions) CleanResult {
	t.Helper()
	res, err := l.Clean(opts)
	require.NoError(t, err)
	require.False(t, res.Aborted)
	return res
}

// activeBase is the active segment's base offset: compaction reaches up to it.
func activeBase(l *Log) int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.active().base
}

// crashFS wraps fs.Mem and crashes it right after the k-th mutating
// operation (file creation, write, truncation, sync, rename, removal,
// directory sync): the operation happens, then the power goes, and every
// later operation through the wrapper fails. Counting starts at arm.
type crashFS struct {
	*fs.Mem
	opts fs.CrashOptions

	mu      sync.Mutex
	armed   bool
	n, at   int
	crashed bool
}

var errPowerLost = errors.New("test: power lost")

func (c *crashFS) arm(at int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.armed, c.n, c.at, c.crashed = true, 0, at, false
}

// op runs one mutating operation under the crash rules.
func (c *crashFS) op(do func() error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.crashed {
		return errPowerLost
	}
	err := do()
	if c.armed {
		c.n++
		if c.n == c.at {
			c.Mem.Crash(c.opts)
			c.crashed = true
		}
	}
	return err
}

// disarm stops counting: no crash comes any more unless one already did.
func (c *crashFS) disarm() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.armed = false
}

func (c *crashFS) didCrash() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.crashed
}

func (c *crashFS) OpenFile(name string, flag int, perm os.FileMode) (fs.File, error) {
	var f fs.File
	open := func() error {
		var err error
		f, err = c.Mem.OpenFile(name, flag, perm)
		return err
	}
	var err error
	if flag&(os.O_CREATE|os.O_TRUNC) != 0 {
		err = c.op(open)
	} else {
		c.mu.Lock()
		if c.crashed {
			err = errPowerLost
		} else {
			err = open()
		}
		c.mu.Unlock()
	}
	if err != nil {
		return nil, err
	}
	return &crashFile{File: f, c: c}, nil
}

func (c *crashFS) Remove(name string) error { return c.op(func() error { return c.Mem.Remove(name) }) }
func (c *crashFS) RemoveAll(name string) error {
	return c.op(func() error { return c.Mem.RemoveAll(name) })
}
func (c *crashFS) Rename(a, b string) error { return c.op(func() error { return c.Mem.Rename(a, b) }) }
func (c *crashFS) SyncDir(name string) error {
	return c.op(func() error { return c.Mem.SyncDir(name) })
}

type crashFile struct {
	fs.File
	c *crashFS
}

func (f *crashFile) Write(p []byte) (n int, err error) {
	err = f.c.op(func() error { n, err = f.File.Write(p); return err })
	return n, err
}

func (f *crashFile) WriteAt(p []byte, off int64) (n int, err error) {
	err = f.c.op(func() error { n, err = f.File.WriteAt(p, off); return err })
	return n, err
}

func (f *crashFile) Sync() error { return f.c.op(f.File.Sync) }
func (f *crashFile) Truncate(size int64) error {
	return f.c.op(func() error { return f.File.Truncate(size) })
}
