package recorder

import (
	"context"
	"errors"
	"sort"

	lin "github.com/ordo-broker/ordo/linearizability"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// ListOffsets lists the latest (high watermark) or earliest (log start)
// offsets of every partition of topic through kadm, recording one
// list-offsets operation per partition with the call's interval. spec is
// linearizability.SpecLatest or SpecEarliest. A latest offset is a
// linearizable read: kadm asks each partition's leader.
func (c *Client) ListOffsets(ctx context.Context, spec string, topic string) (map[int32]int64, error) {
	call := c.r.Now()
	var listed kadm.ListedOffsets
	var err error
	if spec == lin.SpecEarliest {
		listed, err = c.adm.ListStartOffsets(ctx, topic)
	} else {
		listed, err = c.adm.ListEndOffsets(ctx, topic)
	}
	ret := c.r.Now()
	base := lin.Op{Client: c.id, Kind: lin.KindListOffsets, Call: call, Return: ret, Topic: topic, Spec: spec,
		Linearizable: spec == lin.SpecLatest}
	if err != nil && len(listed[topic]) == 0 {
		// No partition answered: one failed operation for the topic.
		op := base
		op.Partition = -1
		op.Outcome, op.Error = Classify(err), err.Error()
		c.r.record(op)
		return nil, err
	}
	out := map[int32]int64{}
	parts := make([]int32, 0, len(listed[topic]))
	for p := range listed[topic] {
		parts = append(parts, p)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
	var firstErr error
	for _, p := range parts {
		lo := listed[topic][p]
		op := base
		op.Partition = p
		op.Outcome = Classify(lo.Err)
		if lo.Err != nil {
			op.Error = lo.Err.Error()
			if firstErr == nil {
				firstErr = lo.Err
			}
		} else {
			op.Offset = lo.Offset
			out[p] = lo.Offset
		}
		c.r.record(op)
	}
	return out, firstErr
}

// Commit commits offsets of topic (partition → offset) for group, recording
// one commit per partition with the call's interval.
func (c *Client) Commit(ctx context.Context, group, topic string, offsets map[int32]int64) error {
	call := c.r.Now()
	os := kadm.Offsets{}
	for p, o := range offsets {
		os.Add(kadm.Offset{Topic: topic, Partition: p, At: o, LeaderEpoch: -1})
	}
	resps, err := c.adm.CommitOffsets(ctx, group, os)
	ret := c.r.Now()
	var firstErr error
	for _, p := range sortedPartitions(offsets) {
		op := lin.Op{Client: c.id, Kind: lin.KindCommit, Call: call, Return: ret, Group: group, Topic: topic,
			Partition: p, Offset: offsets[p]}
		perr := err
		if r, ok := resps.Lookup(topic, p); ok && err == nil {
			perr = r.Err
		} else if err == nil {
			perr = errNoAnswer
		}
		op.Outcome = Classify(perr)
		if perr != nil {
			op.Error = perr.Error()
			if firstErr == nil {
				firstErr = perr
			}
		}
		c.r.record(op)
	}
	return firstErr
}

// FetchOffsets reads group's committed offsets of topic's partitions (-1:
// none), recording one fetch-offset per partition asked for.
func (c *Client) FetchOffsets(ctx context.Context, group, topic string, partitions ...int32) (map[int32]int64, error) {
	call := c.r.Now()
	resps, err := c.adm.FetchOffsetsForTopics(ctx, group, topic)
	ret := c.r.Now()
	if errors.Is(err, kerr.GroupIDNotFound) {
		// A group that does not exist has committed nothing (newer
		// coordinators say so with this error instead of -1 offsets).
		resps, err = nil, nil
	}
	out := map[int32]int64{}
	var firstErr error
	for _, p := range partitions {
		op := lin.Op{Client: c.id, Kind: lin.KindFetchOffset, Call: call, Return: ret, Group: group, Topic: topic, Partition: p}
		perr := err
		off := int64(-1)
		if r, ok := resps.Lookup(topic, p); ok && err == nil {
			perr, off = r.Err, r.At
		}
		op.Outcome = Classify(perr)
		if perr != nil {
			op.Error = perr.Error()
			if firstErr == nil {
				firstErr = perr
			}
		} else {
			op.Offset = off
			out[p] = off
		}
		c.r.record(op)
	}
	return out, firstErr
}

func sortedPartitions(m map[int32]int64) []int32 {
	ps := make([]int32, 0, len(m))
	for p := range m {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
	return ps
}
