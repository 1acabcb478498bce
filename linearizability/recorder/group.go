package recorder

import (
	"context"
	"errors"
	"sort"
	"sync"

	lin "github.com/ordo-broker/ordo/linearizability"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// member is what a group member's callbacks share.
type member struct {
	group string

	mu         sync.Mutex
	assignedAt int64 // when the last OnPartitionsAssigned returned
}

// GroupClient starts a kgo client that consumes as a member of group and
// records, under its client id, what the group does with it:
//   - an assign per partition newly assigned (OnPartitionsAssigned, which
//     kgo calls every generation; with nothing new, one assign without a
//     topic marks the generation), with the generation and member id;
//   - a revoke per partition given up (OnPartitionsRevoked) or lost
//     (OnPartitionsLost, marked Lost);
//   - a fetch-offset per partition of kgo's own fetch of the committed
//     offsets it resumes from (OnOffsetsFetched), from the moment the
//     assign callback returned (kgo sends the request after it) to the
//     answer.
//
// It adds kgo.ConsumerGroup(group) and kgo.DisableAutoCommit() (a commit
// the history does not hold would make the committed-offset checks wrong:
// commit with CommitRecords or CommitUncommitted) and sets those three
// callbacks and OnOffsetsFetched, so opts must not. Add
// kgo.BlockRebalanceOnPoll() and call AllowRebalance after each poll's
// commit for commits that never cross a rebalance.
func (r *Recorder) GroupClient(group string, opts ...kgo.Opt) (*Client, error) {
	c := r.newClient()
	c.group = &member{group: group}
	all := append(append([]kgo.Opt(nil), opts...),
		kgo.ConsumerGroup(group),
		kgo.DisableAutoCommit(),
		kgo.OnPartitionsAssigned(c.onAssigned),
		kgo.OnPartitionsRevoked(func(_ context.Context, cl *kgo.Client, m map[string][]int32) { c.onRevoked(cl, m, false) }),
		kgo.OnPartitionsLost(func(_ context.Context, cl *kgo.Client, m map[string][]int32) { c.onRevoked(cl, m, true) }),
		kgo.OnOffsetsFetched(c.onFetched),
	)
	// The callbacks use only c.r, c.id and c.group, which are set: kgo may
	// call them before NewClient returns.
	cl, err := kgo.NewClient(all...)
	if err != nil {
		return nil, err
	}
	c.cl, c.adm = cl, kadm.NewClient(cl)
	return c, nil
}

// memberOf is the member id and generation kgo holds now (none: "", 0).
func memberOf(cl *kgo.Client) (string, int32) {
	id, gen := cl.GroupMetadata()
	if gen < 0 {
		gen = 0
	}
	return id, gen
}

func (c *Client) onAssigned(_ context.Context, cl *kgo.Client, assigned map[string][]int32) {
	call := c.r.Now()
	id, gen := memberOf(cl)
	ret := c.r.Now()
	base := lin.Op{Client: c.id, Kind: lin.KindAssign, Call: call, Return: ret, Outcome: lin.OK,
		Group: c.group.group, Generation: gen, Member: id}
	tps := sortedAssignment(assigned)
	if len(tps) == 0 {
		c.r.record(base)
	}
	for _, tp := range tps {
		op := base
		op.Topic, op.Partition = tp.Topic, tp.Partition
		c.r.record(op)
	}
	c.group.mu.Lock()
	c.group.assignedAt = ret
	c.group.mu.Unlock()
}

func (c *Client) onRevoked(cl *kgo.Client, revoked map[string][]int32, lost bool) {
	call := c.r.Now()
	id, gen := memberOf(cl)
	ret := c.r.Now()
	for _, tp := range sortedAssignment(revoked) {
		c.r.record(lin.Op{Client: c.id, Kind: lin.KindRevoke, Call: call, Return: ret, Outcome: lin.OK,
			Group: c.group.group, Topic: tp.Topic, Partition: tp.Partition, Generation: gen, Member: id, Lost: lost})
	}
}

func (c *Client) onFetched(_ context.Context, cl *kgo.Client, resp *kmsg.OffsetFetchResponse) error {
	ret := c.r.Now()
	c.group.mu.Lock()
	call := c.group.assignedAt
	c.group.mu.Unlock()
	id, gen := memberOf(cl)
	if len(resp.Groups) == 0 {
		return nil
	}
	g := resp.Groups[0]
	groupErr := kerr.ErrorForCode(g.ErrorCode)
	topics := append([]kmsg.OffsetFetchResponseGroupTopic(nil), g.Topics...)
	sort.Slice(topics, func(i, j int) bool { return topics[i].Topic < topics[j].Topic })
	for _, t := range topics {
		if t.Topic == "" {
			continue // named by topic id only (OffsetFetch v10+)
		}
		parts := append([]kmsg.OffsetFetchResponseGroupTopicPartition(nil), t.Partitions...)
		sort.Slice(parts, func(i, j int) bool { return parts[i].Partition < parts[j].Partition })
		for _, p := range parts {
			op := lin.Op{Client: c.id, Kind: lin.KindFetchOffset, Call: min(call, ret), Return: ret,
				Group: c.group.group, Topic: t.Topic, Partition: p.Partition, Generation: gen, Member: id}
			err := groupErr
			if err == nil {
				err = kerr.ErrorForCode(p.ErrorCode)
			}
			op.Outcome = Classify(err)
			if err != nil {
				op.Error = err.Error()
			} else {
				op.Offset = p.Offset
			}
			c.r.record(op)
		}
	}
	return nil
}

// CommitRecords commits, as a member of the client's group, the offset
// after each partition's last record in recs (kgo's CommitRecords) and
// records one commit per partition with the call's interval and the
// generation and member id the request carried.
func (c *Client) CommitRecords(ctx context.Context, recs ...*kgo.Record) error {
	offsets := map[string]map[int32]kgo.EpochOffset{}
	for _, r := range recs {
		if offsets[r.Topic] == nil {
			offsets[r.Topic] = map[int32]kgo.EpochOffset{}
		}
		set := kgo.EpochOffset{Epoch: r.LeaderEpoch, Offset: r.Offset + 1}
		if at, ok := offsets[r.Topic][r.Partition]; ok && set.Less(at) {
			continue
		}
		offsets[r.Topic][r.Partition] = set
	}
	return c.CommitOffsets(ctx, offsets)
}

// CommitUncommitted commits what the member polled and has not committed
// yet (kgo's CommitUncommittedOffsets), recorded as CommitRecords is.
func (c *Client) CommitUncommitted(ctx context.Context) error {
	return c.CommitOffsets(ctx, c.cl.UncommittedOffsets())
}

// errNotGroup: the client consumes in no group.
var errNotGroup = errors.New("recorder: the client is not a group member")

// CommitOffsets commits offsets as a member of the client's group (kgo's
// CommitOffsetsSync) and records one commit per partition. Nothing is
// recorded when offsets is empty.
func (c *Client) CommitOffsets(ctx context.Context, offsets map[string]map[int32]kgo.EpochOffset) error {
	if len(offsets) == 0 {
		return nil
	}
	group, _ := c.cl.OptValue(kgo.ConsumerGroup).(string)
	if group == "" {
		return errNotGroup
	}
	call := c.r.Now()
	var (
		req    *kmsg.OffsetCommitRequest
		resp   *kmsg.OffsetCommitResponse
		reqErr error
	)
	c.cl.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, rq *kmsg.OffsetCommitRequest, rs *kmsg.OffsetCommitResponse, err error) {
		req, resp, reqErr = rq, rs, err
	})
	ret := c.r.Now()
	var gen int32
	var id string
	if req != nil && req.MemberID != "" && req.Generation > 0 {
		gen, id = req.Generation, req.MemberID
	}
	answers := map[string]map[int32]int16{}
	if resp != nil {
		for _, t := range resp.Topics {
			if answers[t.Topic] == nil {
				answers[t.Topic] = map[int32]int16{}
			}
			for _, p := range t.Partitions {
				answers[t.Topic][p.Partition] = p.ErrorCode
			}
		}
	}
	var firstErr error
	for _, topic := range sortedTopics(offsets) {
		for _, p := range sortedPartitionsOf(offsets[topic]) {
			op := lin.Op{Client: c.id, Kind: lin.KindCommit, Call: call, Return: ret, Group: group, Topic: topic,
				Partition: p, Offset: offsets[topic][p].Offset, Generation: gen, Member: id}
			perr := reqErr
			if perr == nil {
				if code, ok := answers[topic][p]; ok {
					perr = kerr.ErrorForCode(code)
				} else {
					perr = errNoAnswer
				}
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
	}
	return firstErr
}

func sortedAssignment(m map[string][]int32) []lin.TopicPartition {
	var out []lin.TopicPartition
	for t, ps := range m {
		for _, p := range ps {
			out = append(out, lin.TopicPartition{Topic: t, Partition: p})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Partition < out[j].Partition
	})
	return out
}

func sortedTopics[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for t := range m {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

func sortedPartitionsOf[V any](m map[int32]V) []int32 {
	out := make([]int32, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
