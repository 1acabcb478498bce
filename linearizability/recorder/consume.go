package recorder

import (
	"context"
	"errors"

	lin "github.com/ordo-broker/ordo/linearizability"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Poll is kgo's PollFetches, recorded: every record returned, in order, and
// what each partition's fetch reported. kgo fetches in the background, so a
// poll is never a linearizable read; its records still count as
// observations whatever the outcome. The poll is indeterminate when it
// ended on a client-level error (cancelled context, closed client).
func (c *Client) Poll(ctx context.Context) kgo.Fetches {
	op := c.begin(lin.KindPoll)
	fs := c.cl.PollFetches(ctx)
	op.Return = c.r.Now()
	op.Outcome = lin.OK
	var clientErr error
	fs.EachPartition(func(p kgo.FetchTopicPartition) {
		if p.Topic == "" {
			// kgo's injected fetch for a client-level error.
			clientErr = errors.Join(clientErr, p.Err)
			return
		}
		for _, r := range p.Records {
			op.Records = append(op.Records, lin.Record{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: string(r.Key), Value: string(r.Value)})
		}
		f := lin.Fetched{Topic: p.Topic, Partition: p.Partition, HighWatermark: p.HighWatermark, LogStartOffset: p.LogStartOffset}
		if p.Err != nil {
			f.Error = p.Err.Error()
		}
		op.Fetched = append(op.Fetched, f)
	})
	if clientErr != nil {
		op.Outcome = lin.Info
		op.Error = clientErr.Error()
	}
	c.r.record(op)
	return fs
}

// Seek moves the client's consumer of topic/partition to offset (kgo's
// SetOffsets) and records it, so the checker expects the next poll there.
func (c *Client) Seek(topic string, partition int32, offset int64) {
	c.cl.SetOffsets(map[string]map[int32]kgo.EpochOffset{topic: {partition: {Epoch: -1, Offset: offset}}})
	c.Assigned(topic, partition, offset)
}

// Assigned records that the consumer reads topic/partition from offset, as
// configured with kgo.ConsumePartitions, without acting on the client.
func (c *Client) Assigned(topic string, partition int32, offset int64) {
	now := c.r.Now()
	c.r.record(lin.Op{Client: c.id, Kind: lin.KindSeek, Call: now, Return: now, Outcome: lin.OK,
		Topic: topic, Partition: partition, Offset: offset})
}

// Rebalanced records that every position of the consumer was reset (its
// group assignment changed), so its next polls may start anywhere.
func (c *Client) Rebalanced() {
	now := c.r.Now()
	c.r.record(lin.Op{Client: c.id, Kind: lin.KindSeek, Call: now, Return: now, Outcome: lin.OK})
}
