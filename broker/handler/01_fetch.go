package handler

import (
	"context"
	"time"

	"github.com/ordo-broker/ordo/broker/partition"
	"github.com/ordo-broker/ordo/broker/wire"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Fetch: v4-12
//
// Behaviour:
//   - returns stored batch bytes, whole: the first batch returned is the one
//     containing the fetch offset, even if it starts below it; only batches
//     below the high watermark are visible
//   - at least one batch even past MaxBytes or PartitionMaxBytes (KIP-74),
//     for the first partition that has data; later partitions share what is
//     left of MaxBytes
//   - long poll: with fewer than MinBytes ready the response waits up to
//     MaxWaitMillis for the high watermark of any partition to move
//   - fetch sessions (KIP-227) are declined: the response's session id is 0,
//     so clients keep sending full fetch requests
//   - OFFSET_OUT_OF_RANGE below the log start offset or past the log end
//
// Version notes:
//   - v4: IsolationLevel, LastStableOffset, AbortedTransactions
//   - v5: LogStartOffset (KIP-107)
//   - v7: fetch sessions (KIP-227), declined
//   - v9: CurrentLeaderEpoch (KIP-320): FENCED_LEADER_EPOCH or
//     UNKNOWN_LEADER_EPOCH when it is not the partition's
//   - v11: RackID, PreferredReadReplica (KIP-392): always -1
//   - v12: flexible (KIP-482); LastFetchedEpoch and DivergingEpoch
//     (KIP-595) for followers
//   - v13+ identifies topics by id only: not served yet
func init() { register(kmsg.Fetch, 4, 12, (*Handlers).fetch) }

func (h *Handlers) fetch(ctx context.Context, req *wire.Request) wire.Reply {
	r := req.Body.(*kmsg.FetchRequest)
	resp, n := h.readFetch(r)
	if n >= int(r.MinBytes) || r.MaxWaitMillis <= 0 || fetchHasError(resp) {
		return &fetchReply{resp: resp, size: n}
	}
	maxWait := time.Duration(r.MaxWaitMillis) * time.Millisecond
	// Each round takes the signal channel before it reads, so a move
	// between the read and the wait still wakes it: no wake-up is lost.
	return &fetchReply{wait: func() (*kmsg.FetchResponse, int, error) {
		timer := h.Clock.NewTimer(maxWait)
		defer timer.Stop()
		for {
			changed := h.Partitions.Changed()
			resp, n := h.readFetch(r)
			if n >= int(r.MinBytes) || fetchHasError(resp) {
				return resp, n, nil
			}
			select {
			case <-changed:
			case <-timer.C():
				return resp, n, nil
			case <-ctx.Done():
				return nil, 0, ctx.Err()
			}
		}
	}}
}

// fetchReply is a fetch's answer, now (resp) or after a long poll (wait).
// It tells the writer how large the response is, so a multi-megabyte
// response is encoded into one buffer of the right size.
type fetchReply struct {
	wait func() (*kmsg.FetchResponse, int, error)
	resp *kmsg.FetchResponse
	size int // record bytes in resp
}

func (f *fetchReply) Wait() (kmsg.Response, error) {
	if f.wait != nil {
		resp, n, err := f.wait()
		if err != nil {
			return nil, err
		}
		f.resp, f.size, f.wait = resp, n, nil
	}
	return f.resp, nil
}

// Release hands the record batches back to storage's buffer pool once
// the writer has encoded them.
func (f *fetchReply) Release() {
	if f.resp == nil {
		return
	}
	for _, t := range f.resp.Topics {
		for i := range t.Partitions {
			partition.ReleaseRead(t.Partitions[i].RecordBatches)
			t.Partitions[i].RecordBatches = nil
		}
	}
	f.resp = nil
}

// SizeHint is the record bytes plus room for the per-partition fields.
func (f *fetchReply) SizeHint() int {
	parts := 0
	for _, t := range f.resp.Topics {
		parts += 1 + len(t.Partitions)
	}
	return f.size + 64*parts + 64
}

// readFetch reads every requested partition once and reports how many
// record bytes it found.
func (h *Handlers) readFetch(r *kmsg.FetchRequest) (*kmsg.FetchResponse, int) {
	resp := r.ResponseKind().(*kmsg.FetchResponse)
	resp.SessionID = 0 // KIP-227: session declined
	budget := int(r.MaxBytes)
	if r.MaxBytes <= 0 {
		budget = 0
	}
	total := 0
	minOne := true
	for _, rt := range r.Topics {
		st := kmsg.NewFetchResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		for _, rp := range rt.Partitions {
			sp := kmsg.NewFetchResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = -1, -1, -1
			sp.PreferredReadReplica = -1
			// Empty, not null: librdkafka rejects a null record set
			// ("invalid MessageSetSize -1"), and Kafka never sends one.
			sp.RecordBatches = []byte{}
			p := h.Partitions.Get(rt.Topic, rp.Partition)
			if p == nil {
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
				st.Partitions = append(st.Partitions, sp)
				continue
			}
			if err := p.CheckLeaderEpoch(rp.CurrentLeaderEpoch); err != nil {
				sp.ErrorCode = h.errorCode(err)
				st.Partitions = append(st.Partitions, sp)
				continue
			}
			limit := min(int(rp.PartitionMaxBytes), budget-total)
			if limit < 0 {
				limit = 0
			}
			records, hw, err := p.Read(rp.FetchOffset, limit, minOne)
			sp.HighWatermark, sp.LastStableOffset = hw, hw
			sp.LogStartOffset = p.LogStartOffset()
			if err != nil {
				sp.ErrorCode = h.errorCode(err)
			} else if len(records) > 0 {
				sp.RecordBatches = records
				total += len(records)
				minOne = false
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, total
}

// fetchHasError tells whether any partition carries an error: such a
// response goes back at once, so the client can act on it.
func fetchHasError(resp *kmsg.FetchResponse) bool {
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if p.ErrorCode != 0 {
				return true
			}
		}
	}
	return false
}
