package handler

import (
	"context"
	"errors"
	"time"

	"github.com/ordo-broker/ordo/broker/failpoints"
	"github.com/ordo-broker/ordo/broker/partition"
	"github.com/ordo-broker/ordo/broker/wire"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Produce: v3-11
//
// Behaviour:
//   - batches must be v2 RecordBatches (magic 2): v3 is Kafka 4's floor
//   - each partition's payload is validated as Kafka validates a client's
//     (partition.Produce, recordbatch.ValidateProduced): exactly one batch
//     (INVALID_RECORD), max.message.bytes (MESSAGE_TOO_LARGE), length and
//     CRC (CORRUPT_MESSAGE), a known codec, counts that match the offsets,
//     no control batch, and every record walked on every topic: count,
//     structure and offset deltas (INVALID_RECORD), keys on compacted
//     topics (INVALID_RECORD); a compressed batch is decompressed within a
//     bound (RECORD_LIST_TOO_LARGE past it, CORRUPT_MESSAGE if it does not
//     decompress), without holding any lock; the broker assigns offsets by
//     rewriting base offsets, and never recompresses
//   - appends happen in request order on a connection; with acks=-1 or 1 the
//     response waits until the batches are committed (fsynced first under
//     the default flush policy), with acks=0 no response is written at all
//   - TimeoutMillis bounds the wait: REQUEST_TIMED_OUT after it
//   - batches with a producer id (idempotent producers, KIP-98) are checked
//     against the partition's producer state under the append lock: a
//     retried batch is not appended again and is answered with its original
//     base offset once that is committed; a gap is
//     OUT_OF_ORDER_SEQUENCE_NUMBER, an older epoch INVALID_PRODUCER_EPOCH, an
//     unknown producer not starting at sequence 0 UNKNOWN_PRODUCER_ID (see
//     partition/producerstate.go); transactional batches are
//     INVALID_TXN_STATE (no transactions yet)
//
// Version notes:
//   - v3: TransactionalID, record batch v2 only
//   - v5: LogStartOffset in the response
//   - v7: zstd (KIP-110); below it a zstd batch is
//     UNSUPPORTED_COMPRESSION_TYPE
//   - v8: RecordErrors and ErrorMessage (KIP-467)
//   - v9: flexible (KIP-482)
//   - v10/v11: CurrentLeader and NodeEndpoints tags for NOT_LEADER errors
//     (KIP-951): not sent, clients fall back to Metadata
func init() { register(kmsg.Produce, 3, 11, (*Handlers).produce) }

func (h *Handlers) produce(ctx context.Context, req *wire.Request) wire.Reply {
	r := req.Body.(*kmsg.ProduceRequest)
	resp := r.ResponseKind().(*kmsg.ProduceResponse)

	// pending is an append waiting to be committed; ti and pi locate its
	// answer in resp (indexes, since the slices grow while we build them).
	type pending struct {
		ti, pi int
		p      *partition.Partition
		a      partition.Appended
	}
	var waits []pending

	badAcks := r.Acks != 0 && r.Acks != 1 && r.Acks != -1
	im := h.Controller.Image()
	internal := func(topic string) bool {
		t, ok := im.Topics[topic]
		return ok && t.Internal
	}
	now := h.Clock.Now()
	for ti, rt := range r.Topics {
		st := kmsg.NewProduceResponseTopic()
		st.Topic = rt.Topic
		for pi, rpart := range rt.Partitions {
			sp := kmsg.NewProduceResponseTopicPartition()
			sp.Partition = rpart.Partition
			sp.BaseOffset, sp.LogAppendTime, sp.LogStartOffset = -1, -1, -1
			switch p := h.Partitions.Get(rt.Topic, rpart.Partition); {
			case badAcks:
				sp.ErrorCode = kerr.InvalidRequiredAcks.Code
			case p == nil:
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			case internal(rt.Topic):
				// Only the broker writes its internal topics (Kafka's
				// ReplicaManager: "Cannot append to internal topic").
				sp.ErrorCode = kerr.InvalidTopicException.Code
			default:
				a, err := p.Produce(rpart.Records, now, req.Version)
				if err != nil {
					sp.ErrorCode = h.errorCode(err)
					sp.ErrorMessage = errorMessage(err)
					break
				}
				sp.BaseOffset = a.FirstOffset
				sp.LogAppendTime = a.LogAppendTime
				waits = append(waits, pending{ti, pi, p, a})
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}

	if r.Acks == 0 {
		// Kafka writes no response for acks=0, errors included: a
		// client that wants to know uses acks >= 1.
		return wire.Ready(nil, nil)
	}
	if len(waits) == 0 {
		return ready(resp)
	}
	timeout := time.Duration(r.TimeoutMillis) * time.Millisecond
	return wire.Later(func() (kmsg.Response, error) {
		committed := true
		for _, w := range waits {
			rp := &resp.Topics[w.ti].Partitions[w.pi]
			if err := w.p.WaitCommitted(ctx, w.a, timeout); err != nil {
				rp.ErrorCode = h.errorCode(err)
				rp.BaseOffset = -1
				committed = false
				continue
			}
			rp.LogStartOffset = w.p.LogStartOffset()
		}
		if committed {
			if _, ok := failpoints.Eval(failpoints.ProduceDropResponse, h.NodeID); ok {
				return nil, errDroppedResponse // closes the connection: an ambiguous ack
			}
		}
		return resp, nil
	})
}

// errDroppedResponse closes a connection for failpoints.ProduceDropResponse.
var errDroppedResponse = errors.New("failpoint: produce response dropped after commit")
