package handler

import (
	"context"

	"github.com/ordo-broker/ordo/broker/wire"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// FindCoordinator: v0-4
//
// Behaviour:
//   - key type 0 (group): the coordinator is the leader of the group's
//     partition of __consumer_offsets, abs(groupId.hashCode()) %
//     partitions as Kafka computes it; the topic is created on the first
//     request (Kafka creates it then too, but answers
//     COORDINATOR_NOT_AVAILABLE until it exists: Ordo creates it at once)
//   - key type 1 (transaction): COORDINATOR_NOT_AVAILABLE — transactions
//     are not served, and clients give up on them cleanly
//   - any other key type: INVALID_REQUEST
//
// Version notes:
//   - v1: KeyType, ThrottleMillis, ErrorMessage
//   - v3: flexible (KIP-482)
//   - v4: batched CoordinatorKeys and one answer per key (KIP-699)
func init() { register(kmsg.FindCoordinator, 0, 4, (*Handlers).findCoordinator) }

func (h *Handlers) findCoordinator(_ context.Context, req *wire.Request) wire.Reply {
	r := req.Body.(*kmsg.FindCoordinatorRequest)
	resp := r.ResponseKind().(*kmsg.FindCoordinatorResponse)
	keys := r.CoordinatorKeys
	if r.Version <= 3 {
		keys = []string{r.CoordinatorKey}
	}
	for _, key := range keys {
		c := kmsg.NewFindCoordinatorResponseCoordinator()
		c.Key, c.NodeID, c.Port = key, -1, -1
		switch r.CoordinatorType {
		case 0:
			b, err := h.Groups.Coordinator(key)
			if err != nil {
				c.ErrorCode = h.errorCode(err)
				c.ErrorMessage = errorMessage(err)
				break
			}
			c.NodeID, c.Host, c.Port = b.NodeID, b.Host, b.Port
		case 1:
			c.ErrorCode = kerr.CoordinatorNotAvailable.Code
			msg := "transactions are not supported by this broker"
			c.ErrorMessage = &msg
		default:
			c.ErrorCode = kerr.InvalidRequest.Code
		}
		resp.Coordinators = append(resp.Coordinators, c)
	}
	if r.Version <= 3 {
		c := resp.Coordinators[0]
		resp.ErrorCode, resp.ErrorMessage = c.ErrorCode, c.ErrorMessage
		resp.NodeID, resp.Host, resp.Port = c.NodeID, c.Host, c.Port
		resp.Coordinators = nil
	}
	return ready(resp)
}
