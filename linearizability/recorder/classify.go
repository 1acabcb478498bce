package recorder

import (
	"errors"

	"github.com/ordo-broker/ordo/linearizability"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// definite are the Kafka errors that promise nothing was written: each
// depends only on the request (its size, its topic, its validity, its
// rights), so if kgo retried after an ambiguous attempt, that attempt was
// refused too. Errors that depend on the cluster's moment (NOT_LEADER,
// NOT_ENOUGH_REPLICAS, REQUEST_TIMED_OUT, sequence errors an earlier
// attempt may have caused, ...) are not in it.
var definite = []*kerr.Error{
	kerr.MessageTooLarge,
	kerr.RecordListTooLarge,
	kerr.CorruptMessage,
	kerr.UnknownTopicOrPartition,
	kerr.InvalidTopicException,
	kerr.InvalidRecord,
	kerr.InvalidRequiredAcks,
	kerr.InvalidRequest,
	kerr.InvalidPartitions,
	kerr.InvalidProducerEpoch,
	kerr.InvalidProducerIDMapping,
	kerr.InvalidTxnState,
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
	kerr.IllegalGeneration,
	kerr.UnknownMemberID,
	kerr.RebalanceInProgress,
	kerr.FencedInstanceID,
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
