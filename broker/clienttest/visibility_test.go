package clienttest

import (
	"testing"
	"time"

	"github.com/ordo-broker/ordo/broker"
	"github.com/ordo-broker/ordo/broker/ordotest"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestKgoAcksZeroRecordVisibleUnderFsyncPolicy: under the default flush
// policy (fsync before commit) a record produced with acks=0, which nobody
// waits for, is fsynced by its partition and becomes visible right away,
// not at the next interval flush. The broker's interval flush is set to an
// hour, so a record could only show up within the test's deadline through
// the partition's own fsync. The latency is logged, not asserted.
func TestKgoAcksZeroRecordVisibleUnderFsyncPolicy(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 60*time.Second)
	b := ordotest.Start(t, ordotest.WithConfig(func(c *broker.Config) { c.FlushInterval = time.Hour }))
	const topic = "acks0"
	createTopic(t, ctx, newAdmin(t, b), topic, 1, nil)

	consumer := newClient(t, b,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}),
		kgo.FetchMaxWait(30*time.Second))
	producer := newClient(t, b,
		kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite(),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))

	sent := time.Now()
	if err := producer.ProduceSync(ctx, &kgo.Record{Topic: topic, Partition: 0, Value: []byte("fire and forget")}).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	for {
		fs := consumer.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("the acks=0 record never became visible: %v", err)
		}
		var got []*kgo.Record
		fs.EachRecord(func(r *kgo.Record) { got = append(got, r) })
		if len(got) == 0 {
			continue
		}
		if string(got[0].Value) != "fire and forget" || got[0].Offset != 0 {
			t.Fatalf("read %q at offset %d", got[0].Value, got[0].Offset)
		}
		t.Logf("acks=0 record consumed %v after it was sent", time.Since(sent))
		return
	}
}
