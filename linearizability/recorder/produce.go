package recorder

import (
	"context"

	lin "github.com/ordo-broker/ordo/linearizability"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Produce sends one record with value to topic/partition and waits for its
// acknowledgement (kgo's ProduceSync, with the client's acks and retries).
// One record a call keeps the history exact: kgo may split one call's
// records over batches, and each record gets its own outcome.
func (c *Client) Produce(ctx context.Context, topic string, partition int32, value string) (int64, error) {
	op := c.begin(lin.KindProduce)
	op.Topic, op.Partition, op.Values = topic, partition, []string{value}
	rec := &kgo.Record{Topic: topic, Partition: partition, Value: []byte(value)}
	err := c.cl.ProduceSync(ctx, rec).FirstErr()
	c.end(&op, err)
	if err == nil {
		// The partition kgo reports is where the record went, whatever
		// the partitioner.
		op.Partition = rec.Partition
		op.Offsets = []int64{rec.Offset}
	}
	c.r.record(op)
	if err != nil {
		return -1, err
	}
	return rec.Offset, nil
}
