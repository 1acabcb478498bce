package handler

import (
	"context"
	"errors"

	"github.com/ordo-broker/ordo/broker/producerid"
	"github.com/ordo-broker/ordo/broker/wire"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// InitProducerId: v0-4
//
// Behaviour:
//   - an idempotent producer (null TransactionalID) gets a producer id from
//     the broker's producer id manager (broker/producerid): ids come from
//     blocks the controller records durably (KIP-730), so they never repeat
//     across restarts and crashes
//   - with the producer's current ProducerID and ProducerEpoch (v3+,
//     KIP-360) the answer is an epoch bump of the same id when the broker
//     handed that id out since it started (a new id when the epoch is
//     exhausted), the current epoch again for a retried bump, and
//     INVALID_PRODUCER_EPOCH for any other epoch of a remembered id; an id
//     the broker does not remember gets a new id with epoch 0, which is what
//     Kafka answers every idempotent producer
//   - exactly one of ProducerID and ProducerEpoch set to -1: INVALID_REQUEST
//     (as Kafka)
//   - a non-null TransactionalID: INVALID_REQUEST. Ordo has no transaction
//     coordinator yet and advertises none of the transaction APIs (24-28),
//     so no client should send one. Kafka itself answers INVALID_REQUEST for
//     an empty transactional id; COORDINATOR_NOT_AVAILABLE would make a
//     client retry forever, and TRANSACTIONAL_ID_AUTHORIZATION_FAILED would
//     blame permissions. This response has no message field, so the broker
//     logs why.
//   - the controller failing to allocate a block: COORDINATOR_LOAD_IN_PROGRESS,
//     which clients retry (Kafka's answer since KAFKA-14417)
//
// Version notes:
//   - v1: same as v0 (throttle behaviour, KIP-219)
//   - v2: flexible (KIP-482)
//   - v3: ProducerID and ProducerEpoch in the request (KIP-360)
//   - v4: same as v3; the client may get PRODUCER_FENCED (KIP-588), which
//     only transactional ids produce
func init() { register(kmsg.InitProducerID, 0, 4, (*Handlers).initProducerID) }

func (h *Handlers) initProducerID(_ context.Context, req *wire.Request) wire.Reply {
	r := req.Body.(*kmsg.InitProducerIDRequest)
	resp := r.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	switch {
	case r.TransactionalID != nil:
		h.Logger.Info("refusing InitProducerId with a transactional id: Ordo does not support transactions yet", "transactional_id", *r.TransactionalID)
		resp.ErrorCode = kerr.InvalidRequest.Code
	case (r.ProducerID == -1) != (r.ProducerEpoch == -1):
		resp.ErrorCode = kerr.InvalidRequest.Code
	case h.ProducerIDs == nil:
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
	default:
		id, epoch, err := h.ProducerIDs.Init(r.ProducerID, r.ProducerEpoch)
		if errors.Is(err, producerid.ErrNoBlock) {
			h.Logger.Error("allocating producer ids", "err", err)
		}
		if err != nil {
			resp.ErrorCode = h.errorCode(err)
			break
		}
		resp.ProducerID, resp.ProducerEpoch = id, epoch
	}
	return ready(resp)
}
