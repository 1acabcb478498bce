package clienttest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ordo-broker/ordo/broker"
	"github.com/ordo-broker/ordo/broker/ordotest"
)

// TestScalePartitions measures one broker hosting many partitions on the
// real disk (ORDO_SCALE=1 runs it; ORDO_SCALE_PARTITIONS sets how many,
// 20,000 by default): how long creating them takes, the descriptors the
// process holds under the data directory, its memory, the latency of a
// Metadata request for every topic, a produce and a consume on the last
// partition created, and the time of a clean restart and of one that
// recovers as after a crash (the clean-shutdown marker removed). It prints
// the figures; it asserts only what must hold at any size: the descriptor
// bound and the records coming back.
func TestScalePartitions(t *testing.T) {
	if os.Getenv("ORDO_SCALE") != "1" {
		t.Skip("set ORDO_SCALE=1 to run the scale test (minutes; real disk)")
	}
	if runtime.GOOS != "linux" {
		t.Skip("counts descriptors and memory through /proc/self")
	}
	total := 20000
	if s := os.Getenv("ORDO_SCALE_PARTITIONS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("ORDO_SCALE_PARTITIONS=%q: want a positive number", s)
		}
		total = n
	}
	const perTopic = 1000
	dir := t.TempDir()
	var logs logLines
	b := ordotest.Start(t, ordotest.WithConfig(func(c *broker.Config) {
		c.DataDir = dir
		c.LogCleanerInterval = -1
		c.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	}))
	ctx := testContext(t, 30*time.Minute)
	cl := newClient(t, b, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RequestTimeoutOverhead(5*time.Minute))
	adm := kadm.NewClient(cl)
	adm.SetTimeoutMillis(int32((5 * time.Minute).Milliseconds()))

	var topics []string
	start := time.Now()
	for made := 0; made < total; made += perTopic {
		n := min(perTopic, total-made)
		name := fmt.Sprintf("scale-%05d", made/perTopic)
		createTopic(t, ctx, adm, name, int32(n), nil)
		topics = append(topics, name)
	}
	created := time.Since(start)
	last, lastPart := topics[len(topics)-1], int32((total-1)%perTopic)

	figures := func(when string) {
		t.Helper()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		t.Logf("%s: %d descriptors under the data directory (file cache %+v), RSS %s, Go heap in use %d MiB, Go sys %d MiB",
			when, descriptorsUnder(t, dir), b.LogFileStats(), procStatus(t, "VmRSS"), ms.HeapInuse>>20, ms.Sys>>20)
	}
	t.Logf("created %d partitions in %d topics in %v (%v per partition)", total, len(topics), created.Round(time.Millisecond), (created / time.Duration(total)).Round(time.Microsecond))
	figures("after creation")

	metadataLatency := func(when string) {
		t.Helper()
		var ds []time.Duration
		for range 5 {
			s := time.Now()
			md, err := adm.Metadata(ctx, topics...)
			if err != nil {
				t.Fatalf("Metadata: %v", err)
			}
			ds = append(ds, time.Since(s))
			n := 0
			for _, td := range md.Topics {
				n += len(td.Partitions)
			}
			if n != total {
				t.Fatalf("Metadata lists %d partitions, want %d", n, total)
			}
		}
		slices.Sort(ds)
		t.Logf("%s: Metadata for %d topics, %d partitions: median %v, min %v, max %v", when, len(topics), total, ds[len(ds)/2].Round(time.Microsecond), ds[0].Round(time.Microsecond), ds[len(ds)-1].Round(time.Microsecond))
	}
	metadataLatency("after creation")

	rs := []*kgo.Record{{Topic: last, Partition: lastPart, Key: []byte("k"), Value: []byte("on the last partition")}}
	s := time.Now()
	produceAll(t, ctx, cl, rs)
	t.Logf("produce to %s/%d: %v", last, lastPart, time.Since(s).Round(time.Microsecond))
	s = time.Now()
	requireSameLog(t, produced(rs), drainPartition(t, b, last, lastPart))
	t.Logf("consume from %s/%d: %v", last, lastPart, time.Since(s).Round(time.Microsecond))

	s = time.Now()
	b.Restart()
	t.Logf("clean restart: %v; the broker's summary: %s", time.Since(s).Round(time.Millisecond), logs.last(t, "partition logs opened"))
	figures("after a clean restart")
	metadataLatency("after a clean restart")
	requireSameLog(t, produced(rs), drainPartition(t, b, last, lastPart))

	// As after a crash: without the marker every active segment is
	// rescanned.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, ".ordo_cleanshutdown")); err != nil {
		t.Fatalf("the clean shutdown left no marker: %v", err)
	}
	s = time.Now()
	b.Restart()
	t.Logf("restart recovering every log: %v; the broker's summary: %s", time.Since(s).Round(time.Millisecond), logs.last(t, "partition logs opened"))
	figures("after a recovering restart")
	requireSameLog(t, produced(rs), drainPartition(t, b, last, lastPart))
	if n, max := descriptorsUnder(t, dir), b.LogFileStats().Max; n > max+2 {
		t.Fatalf("%d descriptors under the data directory, more than the bound %d (+2)", n, max)
	}
}

// drainPartition reads one partition from its start to its end.
func drainPartition(t *testing.T, b *ordotest.Broker, topic string, p int32) map[int32][]rec {
	t.Helper()
	ctx := testContext(t, time.Minute)
	cl := newClient(t, b, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {p: kgo.NewOffset().AtStart()}}))
	got := map[int32][]rec{}
	for len(got[p]) == 0 {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consuming %s/%d: %v", topic, p, ctx.Err())
		}
		if err := fetches.Err(); err != nil {
			t.Fatalf("consuming %s/%d: %v", topic, p, err)
		}
		fetches.EachRecord(func(r *kgo.Record) { got[r.Partition] = append(got[r.Partition], fromKgo(r)) })
	}
	return got
}

// procStatus returns a field of /proc/self/status, such as VmRSS.
func procStatus(t *testing.T, field string) string {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// logLines keeps a broker's JSON log lines.
type logLines struct {
	mu    sync.Mutex
	lines [][]byte
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, bytes.Clone(p))
	return len(p), nil
}

// last returns the last line whose message is msg, without its time.
func (l *logLines) last(t *testing.T, msg string) string {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.lines) - 1; i >= 0; i-- {
		var m map[string]any
		if json.Unmarshal(l.lines[i], &m) == nil && m["msg"] == msg {
			delete(m, "time")
			delete(m, "level")
			b, _ := json.Marshal(m)
			return string(b)
		}
	}
	return "(none)"
}
