package recorder

import (
	"context"
	"fmt"
	"time"

	lin "github.com/ordo-broker/ordo/linearizability"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// FetchOptions shape one recorded Fetch.
type FetchOptions struct {
	// MaxBytes bounds the answer (1 MiB if zero).
	MaxBytes int32
	// MaxWait lets the leader wait for data (0: answer at once).
	MaxWait time.Duration
	// Linearizable marks the answer's high watermark as a linearizable
	// read: set it when the leader is known to hold its leadership (with
	// one broker, always).
	Linearizable bool
	// Drain marks the fetch as part of the final drain.
	Drain bool
}

// FetchResult is what one Fetch returned.
type FetchResult struct {
	Records        []*kgo.Record
	HighWatermark  int64
	LogStartOffset int64
}

// Fetch sends one Fetch request for topic/partition at offset to the
// partition's leader, so that its interval brackets the moment the leader
// answered (a poll's cannot). Records below offset (the head of a batch)
// are dropped, as every client does.
func (c *Client) Fetch(ctx context.Context, topic string, partition int32, offset int64, opts FetchOptions) (FetchResult, error) {
	op := c.begin(lin.KindFetch)
	op.Topic, op.Partition, op.Offset = topic, partition, offset
	op.Linearizable, op.Drain = opts.Linearizable, opts.Drain
	res, err := c.fetch(ctx, topic, partition, offset, opts)
	c.end(&op, err)
	for _, r := range res.Records {
		op.Records = append(op.Records, lin.Record{Topic: topic, Partition: partition, Offset: r.Offset, Key: string(r.Key), Value: string(r.Value)})
	}
	if err == nil {
		op.HighWatermark, op.LogStartOffset = res.HighWatermark, res.LogStartOffset
	}
	c.r.record(op)
	return res, err
}

func (c *Client) fetch(ctx context.Context, topic string, partition int32, offset int64, opts FetchOptions) (FetchResult, error) {
	leader, topicID, err := c.leader(ctx, topic, partition)
	if err != nil {
		return FetchResult{}, err
	}
	maxBytes := opts.MaxBytes
	if maxBytes <= 0 {
		maxBytes = 1 << 20
	}
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID = -1
	req.MaxWaitMillis = int32(opts.MaxWait.Milliseconds())
	req.MinBytes = 1
	req.MaxBytes = maxBytes
	req.SessionEpoch = -1 // a full fetch, no session (KIP-227)
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = topic, topicID // whichever the negotiated version uses
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = partition, offset, maxBytes
	rp.CurrentLeaderEpoch, rp.LogStartOffset = -1, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)

	kresp, err := c.cl.Broker(int(leader)).Request(ctx, req)
	if err != nil {
		return FetchResult{}, err
	}
	resp := kresp.(*kmsg.FetchResponse)
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return FetchResult{}, err
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return FetchResult{}, fmt.Errorf("fetch of %s/%d: answer for %d topics", topic, partition, len(resp.Topics))
	}
	fp, _ := kgo.ProcessFetchPartition(kgo.ProcessFetchPartitionOpts{Offset: offset, Topic: topic, Partition: partition},
		&resp.Topics[0].Partitions[0], kgo.DefaultDecompressor(), nil)
	res := FetchResult{Records: fp.Records, HighWatermark: fp.HighWatermark, LogStartOffset: fp.LogStartOffset}
	return res, fp.Err
}

// leader finds the partition's leader (and the topic id) from kgo's cached
// metadata.
func (c *Client) leader(ctx context.Context, topic string, partition int32) (int32, [16]byte, error) {
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := c.cl.RequestCachedMetadata(ctx, req, 0)
	if err != nil {
		return -1, [16]byte{}, err
	}
	for _, t := range resp.Topics {
		if t.Topic == nil || *t.Topic != topic {
			continue
		}
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
			return -1, [16]byte{}, err
		}
		for _, p := range t.Partitions {
			if p.Partition == partition {
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
					return -1, [16]byte{}, err
				}
				return p.Leader, t.TopicID, nil
			}
		}
	}
	return -1, [16]byte{}, kerr.UnknownTopicOrPartition
}
