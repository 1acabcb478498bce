package clienttest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/ordo-broker/ordo/broker"
	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/ordo-broker/ordo/broker/ordotest"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestKgoIdempotentProducerThroughLostResponses: a kgo idempotent producer
// (acks=all; kgo keeps 5 produce requests in flight with idempotence once
// the broker speaks Produce v4+, and refuses the option that sets it) talks to the broker through a proxy that
// now and then lets the broker handle a produce request and then cuts the
// connection instead of delivering the answer. The producer retries
// batches the broker already appended; the broker must answer those as
// duplicates with their original offsets. In the end every record is in the
// log exactly once, in the order produced, at the offset it was
// acknowledged with.
func TestKgoIdempotentProducerThroughLostResponses(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 90*time.Second)
	seed := rand.Uint64()
	t.Logf("proxy seed %d", seed)
	proxy := startCutProxy(t, seed, 0.1)
	b := ordotest.Start(t, ordotest.WithMemFS(fs.NewMem()),
		ordotest.WithConfig(func(c *broker.Config) { c.Advertise = proxy.addr() }))
	proxy.setTarget(b.ListenAddr())

	const topic, partitions, n = "idempotent", 4, 6000
	createTopic(t, ctx, newAdmin(t, b), topic, partitions, nil)
	cl := newClient(t, b,
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchMaxBytes(2<<10), // small batches: many requests to cut
		kgo.RetryBackoffFn(func(int) time.Duration { return 10 * time.Millisecond }),
		// An OUT_OF_ORDER_SEQUENCE_NUMBER or UNKNOWN_PRODUCER_ID fails the
		// records instead of being papered over with a new epoch.
		kgo.StopProducerOnDataLossDetected(),
	)

	rs := make([]*kgo.Record, n)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for i := range rs {
		p := int32(i % partitions)
		rs[i] = &kgo.Record{
			Topic:     topic,
			Partition: p,
			Key:       fmt.Appendf(nil, "%d", i),
			Value:     fmt.Appendf(nil, "partition %d record %06d %s", p, i/partitions, make([]byte, 40)),
		}
		wg.Add(1)
		cl.Produce(ctx, rs[i], func(r *kgo.Record, err error) {
			defer wg.Done()
			if err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("record %s: %w", r.Key, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d records failed, first: %v", len(errs), errs[0])
	}
	cuts := proxy.cuts.Load()
	t.Logf("the proxy withheld %d answers the broker had sent", cuts)
	if cuts == 0 {
		t.Fatal("the proxy never cut a connection: the test tested nothing")
	}
	for _, r := range rs {
		if r.ProducerID < 0 {
			t.Fatalf("record %s was produced without a producer id: the producer was not idempotent", r.Key)
		}
	}

	// Acknowledged offsets are dense (no record was appended twice before
	// another), and the log holds exactly the produced records in order.
	want := produced(rs)
	requireDenseFromZero(t, want)
	for p, l := range want {
		for i, r := range l {
			if w := rs[i*partitions+int(p)]; string(r.Value) != string(w.Value) {
				t.Fatalf("partition %d: record %d acknowledged at offset %d holds %q, want %q: out of order", p, i, r.Offset, r.Value, w.Value)
			}
		}
	}
	drainCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	requireSameLog(t, want, drain(t, drainCtx, b, topic))
}
