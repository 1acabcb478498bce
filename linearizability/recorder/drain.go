package recorder

import (
	"context"
	"errors"
	"fmt"
	"time"

	lin "github.com/ordo-broker/ordo/linearizability"
)

// errNoAnswer is a response that left out a partition that was asked for.
var errNoAnswer = errors.New("the response has no answer for the partition")

// Drain is the final read of topic, once every writer has stopped: it
// lists the latest and earliest offsets, fetches every partition from its
// log start up to that high watermark, and records one drain operation per
// partition saying how far it got. A partition whose drain is complete lets
// the checkers resolve indeterminate writes (absent means never happened)
// and judge unseen values and holes. Fetches that fail are retried until
// ctx ends; linearizable marks the fetches' high watermarks as such.
func (c *Client) Drain(ctx context.Context, topic string, linearizable bool) error {
	call := c.r.Now()
	ends, err := c.retryList(ctx, lin.SpecLatest, topic)
	if err != nil {
		return fmt.Errorf("drain of %s: latest offsets: %w", topic, err)
	}
	starts, err := c.retryList(ctx, lin.SpecEarliest, topic)
	if err != nil {
		return fmt.Errorf("drain of %s: earliest offsets: %w", topic, err)
	}
	var errs []error
	for _, p := range sortedPartitions(ends) {
		start, end := starts[p], ends[p]
		next, err := c.drainPartition(ctx, topic, p, start, end, linearizable)
		if err != nil {
			errs = append(errs, fmt.Errorf("drain of %s/%d stopped at %d of %d: %w", topic, p, next, end, err))
		}
		c.r.record(lin.Op{Client: c.id, Kind: lin.KindDrain, Call: call, Return: c.r.Now(), Outcome: lin.OK,
			Topic: topic, Partition: p, LogStartOffset: start, HighWatermark: end, Complete: err == nil})
	}
	return errors.Join(errs...)
}

// drainPartition fetches [start, end) and returns the next offset to read.
func (c *Client) drainPartition(ctx context.Context, topic string, p int32, start, end int64, linearizable bool) (int64, error) {
	next := start
	var lastErr error
	for next < end {
		res, err := c.Fetch(ctx, topic, p, next, FetchOptions{Linearizable: linearizable, Drain: true, MaxWait: 100 * time.Millisecond})
		switch {
		case err != nil:
			lastErr = err
		case len(res.Records) == 0:
			lastErr = fmt.Errorf("empty fetch at %d below the high watermark %d", next, end)
		default:
			next = res.Records[len(res.Records)-1].Offset + 1
			lastErr = nil
			continue
		}
		if ctx.Err() != nil {
			return next, errors.Join(ctx.Err(), lastErr)
		}
		select {
		case <-ctx.Done():
			return next, errors.Join(ctx.Err(), lastErr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return next, nil
}

func (c *Client) retryList(ctx context.Context, spec, topic string) (map[int32]int64, error) {
	for {
		out, err := c.ListOffsets(ctx, spec, topic)
		if err == nil {
			return out, nil
		}
		select {
		case <-ctx.Done():
			return nil, errors.Join(ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
