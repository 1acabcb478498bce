package recorder

import (
	"errors"

	"github.com/ordo-broker/ordo/linearizability"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// definite are the Kafka errors that promise nothing was written: each
// depends only on the request (its size, its format, its validity, its
// rights), so if kgo retried after an ambiguous attempt, that attempt was
// refused too. Errors that depend on the cluster's state at the moment
// are not in it, because a retry answered with one says nothing of the
// attempt before it, which may have been written: NOT_LEADER,
// NOT_ENOUGH_REPLICAS, REQUEST_TIMED_OUT; UNKNOWN_TOPIC_OR_PARTITION (a
// broker that has not yet learnt of a partition during a fail-over);
// producer-epoch and sequence errors (INVALID_PRODUCER_EPOCH,
// INVALID_PRODUCER_ID_MAPPING, OUT_OF_ORDER_SEQUENCE_NUMBER: an earlier
// attempt or a bumped epoch may cause them); transaction state; and the
// group's generation and membership (ILLEGAL_GENERATION,
// UNKNOWN_MEMBER_ID, REBALANCE_IN_PROGRESS, FENCED_INSTANCE_ID: a
// rebalance between a lost answer and its retry).
var definite = []*kerr.Error{
	kerr.MessageTooLarge,
	kerr.RecordListTooLarge,
	kerr.CorruptMessage,
	kerr.InvalidTopicException,
	kerr.InvalidRecord,
	kerr.InvalidRequiredAcks,
	kerr.InvalidRequest,
	kerr.InvalidPartitions,
	kerr.InvalidGroupID,
	kerr.InvalidCommitOffsetSize,
	kerr.InvalidTimestamp,
	kerr.UnsupportedVersion,
	kerr.UnsupportedForMessageFormat,
	kerr.TopicAuthorizationFailed,
	kerr.GroupAuthorizationFailed,
	kerr.ClusterAuthorizationFailed,
	kerr.TransactionalIDAuthorizationFailed,
	kerr.PolicyViolation,
	kerr.OffsetOutOfRange,
	kerr.OffsetMetadataTooLarge,
}

// Classify tells how a call ended from its error: nil is ok; a Kafka error
// that promises nothing happened is a definite failure; everything else
// (timeouts, lost connections, cancelled contexts, a closed client,
// retriable Kafka errors, unknown errors) is indeterminate: the write may
// have happened.
func Classify(err error) linearizability.Outcome {
	if err == nil {
		return linearizability.OK
	}
	if errors.Is(err, kgo.ErrMaxBuffered) {
		// Refused before it was buffered: it never reached a broker.
		return linearizability.Fail
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		for _, d := range definite {
			if ke.Code == d.Code {
				return linearizability.Fail
			}
		}
	}
	return linearizability.Info
}
