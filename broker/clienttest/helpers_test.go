// Package clienttest runs real Kafka clients (franz-go, sarama, kafka-go,
// kcat/librdkafka, kafkajs) against an in-process Ordo broker on loopback and
// asserts what their users see: records come back intact and in order, admin
// calls do what they say, acknowledged writes survive restarts and crashes.
//
// External tools (kcat, node with kafkajs) are installed by
// scripts/install-test-deps.sh. Tests that need a missing tool skip locally
// and fail when CI=true: CI must never go green by skipping.
package clienttest

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/ordo-broker/ordo/broker/ordotest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// requireTool returns the path of an executable, or skips the test (fails it
// under CI=true) when it is not installed.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		missingDependency(t, fmt.Sprintf("%s is not installed (scripts/install-test-deps.sh installs it)", name))
	}
	return p
}

// missingDependency skips locally and fails under CI, where a skipped client
// test would hide a missing dependency.
func missingDependency(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s; CI=true, so this is a failure, not a skip", msg)
	}
	t.Skip(msg)
}

// testContext is a context that ends after d or when the test ends. Every
// client call in these tests goes through one, so a hung broker fails the
// test instead of hanging the run.
func testContext(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// newClient is a kgo client for b that produces with acks=all. It is closed
// when the test ends.
func newClient(t *testing.T, b *ordotest.Broker, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	base := []kgo.Opt{
		kgo.SeedBrokers(b.Addr()),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.MetadataMinAge(50 * time.Millisecond),
		kgo.FetchMaxWait(250 * time.Millisecond),
	}
	if os.Getenv("ORDO_TEST_LOG") == "1" {
		base = append(base, kgo.WithLogger(kgo.BasicLogger(testWriter{t}, kgo.LogLevelInfo, nil)))
	}
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatalf("kgo.NewClient: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// newAdmin is a kadm client over its own kgo client for b.
func newAdmin(t *testing.T, b *ordotest.Broker) *kadm.Client {
	t.Helper()
	return kadm.NewClient(newClient(t, b))
}

// createTopic creates topic with the given partitions and configs and fails
// the test if the broker refuses.
func createTopic(t *testing.T, ctx context.Context, adm *kadm.Client, topic string, partitions int32, configs map[string]*string) {
	t.Helper()
	resp, err := adm.CreateTopic(ctx, partitions, 1, configs, topic)
	if err != nil {
		t.Fatalf("creating topic %s: %v (%s)", topic, err, resp.ErrMessage)
	}
}

// rec is what a user can observe about one record.
type rec struct {
	Partition int32
	Offset    int64
	Key       []byte
	Value     []byte
	Headers   []kgo.RecordHeader
	Timestamp int64 // Unix milliseconds
}

func fromKgo(r *kgo.Record) rec {
	return rec{
		Partition: r.Partition,
		Offset:    r.Offset,
		Key:       r.Key,
		Value:     r.Value,
		Headers:   r.Headers,
		Timestamp: r.Timestamp.UnixMilli(),
	}
}

// sameRecord reports how got differs from want, or "" if it does not. Nil and
// empty values are different things in Kafka (a null value is a tombstone),
// so they are compared as such.
func sameRecord(want, got rec) string {
	switch {
	case want.Partition != got.Partition || want.Offset != got.Offset:
		return fmt.Sprintf("position %d/%d, want %d/%d", got.Partition, got.Offset, want.Partition, want.Offset)
	case !bytes.Equal(want.Key, got.Key) || (want.Key == nil) != (got.Key == nil):
		return fmt.Sprintf("key %q (nil=%v), want %q (nil=%v)", got.Key, got.Key == nil, want.Key, want.Key == nil)
	case !bytes.Equal(want.Value, got.Value) || (want.Value == nil) != (got.Value == nil):
		return fmt.Sprintf("value %.40q (nil=%v), want %.40q (nil=%v)", got.Value, got.Value == nil, want.Value, want.Value == nil)
	case want.Timestamp != got.Timestamp:
		return fmt.Sprintf("timestamp %d, want %d", got.Timestamp, want.Timestamp)
	case !sameHeaders(want.Headers, got.Headers):
		return fmt.Sprintf("headers %v, want %v", got.Headers, want.Headers)
	}
	return ""
}

func sameHeaders(a, b []kgo.RecordHeader) bool {
	return slices.EqualFunc(a, b, func(x, y kgo.RecordHeader) bool {
		return x.Key == y.Key && bytes.Equal(x.Value, y.Value)
	})
}

// requireSameLog fails the test unless got holds exactly want's records,
// partition by partition, in offset order.
func requireSameLog(t *testing.T, want, got map[int32][]rec) {
	t.Helper()
	for p, w := range want {
		g := got[p]
		if len(g) != len(w) {
			t.Errorf("partition %d: consumed %d records, want %d", p, len(g), len(w))
		}
		for i := range min(len(g), len(w)) {
			if d := sameRecord(w[i], g[i]); d != "" {
				t.Errorf("partition %d, record %d: %s", p, i, d)
				break
			}
		}
	}
	for p, g := range got {
		if _, ok := want[p]; !ok && len(g) > 0 {
			t.Errorf("partition %d: consumed %d unexpected records, first at offset %d", p, len(g), g[0].Offset)
		}
	}
}

// drain reads every record of topic from the log start to the high watermark
// the broker reports now, with a fresh consumer, and returns them per
// partition in the order consumed. It fails the test if the records do not
// arrive before ctx ends, or arrive out of offset order.
func drain(t *testing.T, ctx context.Context, b *ordotest.Broker, topic string) map[int32][]rec {
	t.Helper()
	adm := newAdmin(t, b)
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil || ends.Error() != nil {
		t.Fatalf("listing end offsets of %s: %v / %v", topic, err, ends.Error())
	}
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err != nil || starts.Error() != nil {
		t.Fatalf("listing start offsets of %s: %v / %v", topic, err, starts.Error())
	}
	end := map[int32]int64{}
	assign := map[int32]kgo.Offset{}
	got := map[int32][]rec{}
	remaining := 0
	for p, lo := range ends[topic] {
		start := starts[topic][p].Offset
		got[p] = nil
		if lo.Offset > start {
			end[p] = lo.Offset
			assign[p] = kgo.NewOffset().AtStart()
			remaining++
		}
	}
	if remaining == 0 {
		return got
	}
	cl := newClient(t, b, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: assign}))
	next := map[int32]int64{}
	for p := range end {
		next[p] = starts[topic][p].Offset
	}
	for remaining > 0 {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("draining %s: %v; consumed %v, want up to %v", topic, ctx.Err(), counts(got), end)
		}
		var bad error
		fetches.EachError(func(topic string, p int32, err error) {
			bad = errors.Join(bad, fmt.Errorf("fetching %s/%d: %w", topic, p, err))
		})
		fetches.EachRecord(func(r *kgo.Record) {
			if r.Offset != next[r.Partition] {
				bad = errors.Join(bad, fmt.Errorf("partition %d: consumed offset %d, expected %d next (offsets must be dense)", r.Partition, r.Offset, next[r.Partition]))
			}
			next[r.Partition] = r.Offset + 1
			if r.Offset >= end[r.Partition] {
				return // produced after the drain started
			}
			got[r.Partition] = append(got[r.Partition], fromKgo(r))
			if r.Offset == end[r.Partition]-1 {
				remaining--
			}
		})
		if bad != nil {
			t.Fatalf("draining %s: %v", topic, bad)
		}
	}
	return got
}

func counts(m map[int32][]rec) map[int32]int {
	c := map[int32]int{}
	for p, rs := range m {
		c[p] = len(rs)
	}
	return c
}

// produced turns acknowledged kgo records into the per-partition log they
// must form, sorted by offset.
func produced(rs []*kgo.Record) map[int32][]rec {
	m := map[int32][]rec{}
	for _, r := range rs {
		m[r.Partition] = append(m[r.Partition], fromKgo(r))
	}
	for _, l := range m {
		slices.SortFunc(l, func(a, b rec) int { return cmp.Compare(a.Offset, b.Offset) })
	}
	return m
}

// requireDenseFromZero fails the test unless each partition's acknowledged
// offsets are 0, 1, 2, ...
func requireDenseFromZero(t *testing.T, log map[int32][]rec) {
	t.Helper()
	for p, l := range log {
		for i, r := range l {
			if r.Offset != int64(i) {
				t.Fatalf("partition %d: acknowledged offsets are not dense from 0: the record at index %d has offset %d", p, i, r.Offset)
			}
		}
	}
}

// produceAll produces rs with acks=all and fails the test on any error; the
// records carry their partitions and offsets afterwards.
func produceAll(t *testing.T, ctx context.Context, cl *kgo.Client, rs []*kgo.Record) {
	t.Helper()
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatalf("producing %d records: %v", len(rs), err)
	}
}
