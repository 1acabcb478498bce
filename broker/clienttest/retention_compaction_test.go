package clienttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ordo-broker/ordo/broker"
	"github.com/ordo-broker/ordo/broker/ordotest"
)

// Retention and compaction as clients see them. The broker's cleaner runs
// every few milliseconds here; segment.bytes cannot go below Kafka's 1 MiB
// through topic configs, so records are large enough to fill segments.

const mib = 1 << 20

// cleanerBroker starts a broker whose log cleaner runs every interval, with
// its data in dir (a temporary directory when "").
func cleanerBroker(t *testing.T, interval time.Duration, dir string) *ordotest.Broker {
	return ordotest.Start(t, ordotest.WithConfig(func(c *broker.Config) {
		c.LogCleanerInterval = interval
		if dir != "" {
			c.DataDir = dir
		}
	}))
}

func strp(s string) *string { return &s }

// noise is n incompressible bytes, new ones each call: kgo compresses
// batches (snappy by default), and repeated bytes would never fill a
// segment.
func noise(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	return b
}

// folderSize is the bytes of the files in a partition folder.
func folderSize(t *testing.T, dir string) int64 {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("reading %s: %v", dir, err)
	}
	var n int64
	for _, e := range entries {
		if info, err := e.Info(); err == nil && !e.IsDir() {
			n += info.Size()
		}
	}
	return n
}

// consumeFrom reads partition 0 of topic from its start to end-1 (which
// must exist) with a fresh kgo consumer, checking that offsets only grow.
func consumeFrom(t *testing.T, ctx context.Context, b *ordotest.Broker, topic string, end int64) []*kgo.Record {
	t.Helper()
	cl := newClient(t, b, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
	defer cl.Close()
	var out []*kgo.Record
	prev := int64(-1)
	for prev < end-1 {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consuming %s: %v after offset %d, want up to %d", topic, ctx.Err(), prev, end-1)
		}
		var bad error
		fetches.EachError(func(_ string, _ int32, err error) { bad = errors.Join(bad, err) })
		if bad != nil {
			t.Fatalf("consuming %s: %v", topic, bad)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			if r.Offset <= prev {
				t.Errorf("offset %d after %d", r.Offset, prev)
			}
			prev = r.Offset
			out = append(out, r)
		})
	}
	return out
}

// A kgo consumer reading a compacted topic from the start, after the
// cleaner compacted it, sees a subsequence of what was produced that holds
// the latest value of every key; the compacted log has gaps, and kgo steps
// over them (and over the empty batches the cleaner keeps). A record
// without a key is refused with INVALID_RECORD.
func TestCompactedTopicKeepsTheLatestValuePerKey(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 90*time.Second)
	dir := t.TempDir()
	b := cleanerBroker(t, 20*time.Millisecond, dir)
	adm := newAdmin(t, b)
	const topic = "compacted"
	createTopic(t, ctx, adm, topic, 1, map[string]*string{
		"cleanup.policy":            strp("compact"),
		"segment.bytes":             strp(strconv.Itoa(mib)),
		"min.cleanable.dirty.ratio": strp("0.01"),
	})
	cl := newClient(t, b, kgo.DefaultProduceTopic(topic), kgo.ProducerBatchCompression(kgo.SnappyCompression()),
		kgo.ProducerLinger(0))

	// A record without a key: Kafka's "Compacted topic cannot accept
	// message without key".
	err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("no key")}).FirstErr()
	if !errors.Is(err, kerr.InvalidRecord) {
		t.Fatalf("producing a keyless record to a compacted topic: %v, want INVALID_RECORD", err)
	}

	const nkeys, rounds = 20, 25 // 500 records of 20 KiB: 10 MiB, ten segments
	written := map[int64]*kgo.Record{}
	latest := map[string]*kgo.Record{}
	var produced int64
	for round := range rounds {
		var rs []*kgo.Record
		for k := range nkeys {
			r := &kgo.Record{Key: []byte(fmt.Sprintf("key-%02d", k)), Value: append([]byte(fmt.Sprintf("r%d:", round)), noise(20<<10)...)}
			if k == 7 && round == rounds-2 {
				r.Value = nil // a tombstone, overwritten again in the last round
			}
			if k == 9 && round == rounds-1 {
				r.Value = nil // a tombstone that stays the latest
			}
			rs = append(rs, r)
		}
		produceAll(t, ctx, cl, rs)
		for _, r := range rs {
			written[r.Offset] = r
			latest[string(r.Key)] = r
			produced += int64(len(r.Value))
		}
	}
	end := int64(nkeys * rounds)
	topicDir := filepath.Join(dir, topic+"-0")

	// Wait for the cleaner: most records go.
	var got []*kgo.Record
	for {
		got = consumeFrom(t, ctx, b, topic, end)
		if len(got) < int(end)/2 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the cleaner did not compact %s: still %d of %d records", topic, len(got), end)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Logf("compacted: %d of %d records readable; folder %.2f MiB, %.2f MiB produced", len(got), end,
		float64(folderSize(t, topicDir))/mib, float64(produced)/mib)

	// Each reader sees a subsequence of what was produced, holding the
	// latest record of every key (a tombstone may be gone once
	// delete.retention.ms has passed: a day by default, so not here).
	check := func(reader string, offsets []int64, keys []string) {
		t.Helper()
		seen := map[string]int64{}
		for i, off := range offsets {
			w, ok := written[off]
			if !ok || string(w.Key) != keys[i] {
				t.Fatalf("%s: offset %d holds key %q, which was not produced there", reader, off, keys[i])
			}
			if i > 0 && off <= offsets[i-1] {
				t.Fatalf("%s: offset %d after %d", reader, off, offsets[i-1])
			}
			seen[keys[i]] = off
		}
		for k, w := range latest {
			if off, ok := seen[k]; !ok || off != w.Offset {
				t.Errorf("%s: key %s: last read at offset %d (found %v), its latest is at %d", reader, k, off, ok, w.Offset)
			}
		}
	}
	var offsets []int64
	var keys []string
	for _, r := range got {
		w := written[r.Offset]
		if !bytes.Equal(w.Value, r.Value) || (w.Value == nil) != (r.Value == nil) {
			t.Fatalf("kgo: offset %d holds a value that was not produced there", r.Offset)
		}
		offsets, keys = append(offsets, r.Offset), append(keys, string(r.Key))
	}
	check("kgo", offsets, keys)

	// kcat (librdkafka), when installed, too; the cleaner may have gone
	// further since.
	if kcat, err := exec.LookPath("kcat"); err == nil {
		out := runKcat(t, ctx, kcat, "", "-C", "-b", b.Addr(), "-t", topic, "-p", "0", "-o", "beginning", "-e", "-f", "%o %k\n")
		offsets, keys = nil, nil
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			o, k, _ := strings.Cut(line, " ")
			off, err := strconv.ParseInt(o, 10, 64)
			if err != nil {
				t.Fatalf("kcat printed %q", line)
			}
			offsets, keys = append(offsets, off), append(keys, k)
		}
		check("kcat", offsets, keys)
		t.Logf("kcat read %d records", len(offsets))
	}
}

// After retention, ListOffsets earliest has advanced to the first remaining
// segment, a consumer from the start begins there (kgo and kcat), and one
// asking for an offset below it gets OFFSET_OUT_OF_RANGE and resets as its
// policy says.
func TestRetentionMovesTheLogStart(t *testing.T) {
	kcat := requireTool(t, "kcat")
	t.Parallel()
	ctx := testContext(t, 90*time.Second)
	b := cleanerBroker(t, 20*time.Millisecond, "")
	adm := newAdmin(t, b)
	const topic = "retained"
	createTopic(t, ctx, adm, topic, 1, map[string]*string{
		"segment.bytes":   strp(strconv.Itoa(mib)),
		"retention.bytes": strp(strconv.Itoa(2 * mib)),
	})
	cl := newClient(t, b, kgo.DefaultProduceTopic(topic))
	var rs []*kgo.Record
	for i := range 160 { // 8 MiB
		rs = append(rs, &kgo.Record{Value: append([]byte(fmt.Sprintf("%d:", i)), noise(50<<10)...)})
	}
	produceAll(t, ctx, cl, rs)

	var start int64
	for {
		starts, err := adm.ListStartOffsets(ctx, topic)
		if err != nil || starts.Error() != nil {
			t.Fatalf("ListStartOffsets: %v / %v", err, starts.Error())
		}
		o, _ := starts.Lookup(topic, 0)
		if start = o.Offset; start > 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("retention never moved the log start offset")
		case <-time.After(20 * time.Millisecond):
		}
	}
	// Nothing is produced any more: wait until the cleaner has reached its
	// fixpoint, so the start compared below cannot move under the test.
	start = settled(t, ctx, 20*time.Millisecond, func() int64 {
		starts, err := adm.ListStartOffsets(ctx, topic)
		if err != nil || starts.Error() != nil {
			t.Fatalf("ListStartOffsets: %v / %v", err, starts.Error())
		}
		o, _ := starts.Lookup(topic, 0)
		return o.Offset
	})
	t.Logf("log start offset %d of 160 after retention.bytes=2MiB", start)
	if start < 80 {
		t.Errorf("log start %d: more than 4 MiB of 50 KiB records kept under retention.bytes=2MiB", start)
	}

	got := consumeFrom(t, ctx, b, topic, 160)
	if got[0].Offset != start || !bytes.HasPrefix(got[0].Value, []byte(fmt.Sprintf("%d:", start))) {
		t.Errorf("kgo from the start: first record at offset %d, want %d", got[0].Offset, start)
	}

	out := runKcat(t, ctx, kcat, "", "-C", "-b", b.Addr(), "-t", topic, "-p", "0", "-o", "beginning", "-e", "-f", "%o\n")
	lines := strings.Fields(out)
	if len(lines) == 0 || lines[0] != strconv.FormatInt(start, 10) {
		t.Errorf("kcat -o beginning: first offset %v, want %d", first(lines), start)
	}
	if len(lines) != 160-int(start) {
		t.Errorf("kcat read %d records, want %d", len(lines), 160-start)
	}

	// Below the log start: OFFSET_OUT_OF_RANGE, and kgo resets to the
	// start (its reset policy).
	reset := newClient(t, b, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().At(0)}}),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	for {
		fetches := reset.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatal("no record after the reset")
		}
		var rec *kgo.Record
		fetches.EachRecord(func(r *kgo.Record) {
			if rec == nil {
				rec = r
			}
		})
		if rec != nil {
			if rec.Offset != start {
				t.Errorf("after OFFSET_OUT_OF_RANGE and a reset to the start: offset %d, want %d", rec.Offset, start)
			}
			break
		}
	}
}

// settled polls read until it returns the same value over several cleaner
// rounds (interval apart) and returns it: the cleaner's fixpoint once
// nothing is produced any more. It fails the test when ctx ends first.
func settled(t *testing.T, ctx context.Context, interval time.Duration, read func() int64) int64 {
	t.Helper()
	last, same := read(), 0
	for same < 5 {
		select {
		case <-ctx.Done():
			t.Fatalf("the value never settled (last %d)", last)
		case <-time.After(2 * interval):
		}
		v := read()
		if v == last {
			same++
		} else {
			last, same = v, 0
		}
	}
	return last
}

func first(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return s[0]
}

// Under a sustained producer, a topic with retention.bytes keeps its disk
// use bounded: about retention.bytes plus the active segment, plus what
// arrives between two cleaner rounds.
func TestRetentionBoundsDiskUse(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 90*time.Second)
	dir := t.TempDir()
	b := cleanerBroker(t, 20*time.Millisecond, dir)
	adm := newAdmin(t, b)
	const topic = "bounded"
	const retention = 4 * mib
	createTopic(t, ctx, adm, topic, 1, map[string]*string{
		"segment.bytes":   strp(strconv.Itoa(mib)),
		"retention.bytes": strp(strconv.Itoa(retention)),
	})
	topicDir := filepath.Join(dir, topic+"-0")

	var peak atomic.Int64
	var samples atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			n := folderSize(t, topicDir)
			samples.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
		}
	}()

	cl := newClient(t, b, kgo.DefaultProduceTopic(topic))
	var total int64
	began := time.Now()
	for total < 40*mib { // ten times retention.bytes
		var rs []*kgo.Record
		for range 16 {
			rs = append(rs, &kgo.Record{Value: noise(32 << 10)})
		}
		produceAll(t, ctx, cl, rs)
		total += 16 * 32 << 10
	}
	elapsed := time.Since(began)
	close(stop)
	wg.Wait()
	// The producer stopped: the folder shrinks to its final size once the
	// cleaner has caught up.
	final := settled(t, ctx, 20*time.Millisecond, func() int64 { return folderSize(t, topicDir) })
	t.Logf("produced %d MiB in %s (%.1f MiB/s); folder: peak %.2f MiB, final %.2f MiB over %d samples; retention.bytes %d MiB, segment.bytes 1 MiB",
		total/mib, elapsed.Round(time.Millisecond), float64(total)/mib/elapsed.Seconds(),
		float64(peak.Load())/mib, float64(final)/mib, samples.Load(), retention/mib)
	// retention.bytes, the active segment, one more segment that can fill
	// between cleaner rounds, and the indexes.
	if limit := int64(retention + 2*mib + mib/4); peak.Load() > limit {
		t.Errorf("disk use peaked at %d bytes, above %d", peak.Load(), limit)
	}
	if final > retention+mib+mib/4 {
		t.Errorf("disk use %d bytes after the producer stopped, above retention.bytes plus the active segment", final)
	}
}
