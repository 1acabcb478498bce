package handler

import (
	"context"
	"errors"
	"fmt"

	"github.com/ordo-broker/ordo/broker/controller"
	"github.com/ordo-broker/ordo/broker/group"
	"github.com/ordo-broker/ordo/broker/metadata"
	"github.com/ordo-broker/ordo/broker/partition"
	"github.com/ordo-broker/ordo/broker/producerid"
	"github.com/ordo-broker/ordo/broker/topicconfig"
	"github.com/twmb/franz-go/pkg/kerr"
)

// errInvalidRequest is the handlers' own INVALID_REQUEST.
var errInvalidRequest = errors.New("invalid request")

// errStaticBrokerConfigs answers an alteration of a BROKER resource.
var errStaticBrokerConfigs = fmt.Errorf("%w: only topic configs can be altered: Ordo's broker configs are static", errInvalidRequest)

// codes maps the core's sentinel errors to Kafka error codes. It is the one
// place where that translation happens.
var codes = []struct {
	err  error
	kerr *kerr.Error
}{
	// A failed log (fsync or write error) wraps its cause, whatever that
	// is: first, so it always reads as KAFKA_STORAGE_ERROR. The broker
	// stops on it (partition.Manager.OnStorageFailure).
	{partition.ErrLogFailed, kerr.KafkaStorageError},
	// Corruption found on disk wraps ErrCorruptBatch too: it must read as
	// a storage error, not as the client's corrupt message.
	{partition.ErrCorruptLog, kerr.KafkaStorageError},
	// The process ran out of file descriptors (too many connections) and
	// nothing was appended: a retriable code that does not say the disk
	// failed. REQUEST_TIMED_OUT is retried by every client Ordo is tested
	// with (kgo, sarama, kafka-go, librdkafka, kafkajs), triggers no
	// metadata refresh, and is what the produce gets anyway when its
	// fsync is postponed for the same reason past its timeout.
	// KAFKA_STORAGE_ERROR is retriable too but tells clients and operators
	// the log directory is offline (Java clients refresh metadata on it);
	// NOT_ENOUGH_REPLICAS would be about replication.
	{partition.ErrResourceExhausted, kerr.RequestTimedOut},
	// A new partition whose log cannot be opened (no descriptors, no
	// space, a failing disk): the topic is not created.
	{partition.ErrOpenLog, kerr.KafkaStorageError},
	{partition.ErrCorruptBatch, kerr.CorruptMessage},
	{partition.ErrLogFencedEpoch, kerr.FencedLeaderEpoch},
	{partition.ErrInvalidMagic, kerr.InvalidRecord},
	{partition.ErrInvalidRecord, kerr.InvalidRecord},
	{partition.ErrNoKey, kerr.InvalidRecord},
	{partition.ErrUnsupportedCompression, kerr.UnsupportedCompressionType},
	// A compressed batch that decompresses past its bound
	// (recordbatch.MaxUncompressed): not retriable, like the batch.
	{partition.ErrRecordsTooLarge, kerr.RecordListTooLarge},
	{partition.ErrOffsetOutOfRange, kerr.OffsetOutOfRange},
	{partition.ErrLogClosed, kerr.NotLeaderForPartition},
	{partition.ErrMessageTooLarge, kerr.MessageTooLarge},
	{partition.ErrNotLeader, kerr.NotLeaderForPartition},
	{partition.ErrFencedLeaderEpoch, kerr.FencedLeaderEpoch},
	{partition.ErrUnknownLeaderEpoch, kerr.UnknownLeaderEpoch},
	{partition.ErrTimeout, kerr.RequestTimedOut},
	{partition.ErrStopped, kerr.NotLeaderForPartition},
	{partition.ErrOutOfOrderSequence, kerr.OutOfOrderSequenceNumber},
	{partition.ErrUnknownProducerID, kerr.UnknownProducerID},
	{partition.ErrInvalidProducerEpoch, kerr.InvalidProducerEpoch},
	{partition.ErrInvalidProducerBatch, kerr.InvalidRecord},
	{partition.ErrTransactionalBatch, kerr.InvalidTxnState},
	{producerid.ErrInvalidProducerEpoch, kerr.InvalidProducerEpoch},
	// KAFKA-14417: a retriable code, where REQUEST_TIMED_OUT made older
	// clients give up.
	{producerid.ErrNoBlock, kerr.CoordinatorLoadInProgress},
	{controller.ErrTopicExists, kerr.TopicAlreadyExists},
	{controller.ErrUnknownTopic, kerr.UnknownTopicOrPartition},
	{controller.ErrInvalidPartitions, kerr.InvalidPartitions},
	{controller.ErrInvalidReplicationFactor, kerr.InvalidReplicationFactor},
	{controller.ErrInvalidReplicaAssignment, kerr.InvalidReplicaAssignment},
	{controller.ErrInternalTopic, kerr.InvalidTopicException},
	{controller.ErrReservedTopic, kerr.InvalidRequest},
	{metadata.ErrInvalidTopic, kerr.InvalidTopicException},
	{topicconfig.ErrInvalidRequest, kerr.InvalidRequest},
	{topicconfig.ErrInvalidConfig, kerr.InvalidConfig},
	{group.ErrNotCoordinator, kerr.NotCoordinator},
	{group.ErrCoordinatorLoadInProgress, kerr.CoordinatorLoadInProgress},
	{group.ErrCoordinatorNotAvailable, kerr.CoordinatorNotAvailable},
	{group.ErrInvalidGroupID, kerr.InvalidGroupID},
	{group.ErrGroupIDNotFound, kerr.GroupIDNotFound},
	{group.ErrUnknownMemberID, kerr.UnknownMemberID},
	{group.ErrMemberIDRequired, kerr.MemberIDRequired},
	{group.ErrIllegalGeneration, kerr.IllegalGeneration},
	{group.ErrRebalanceInProgress, kerr.RebalanceInProgress},
	{group.ErrInconsistentGroupProtocol, kerr.InconsistentGroupProtocol},
	{group.ErrFencedInstanceID, kerr.FencedInstanceID},
	{group.ErrInvalidSessionTimeout, kerr.InvalidSessionTimeout},
	{group.ErrNonEmptyGroup, kerr.NonEmptyGroup},
	{group.ErrGroupSubscribedToTopic, kerr.GroupSubscribedToTopic},
	{group.ErrOffsetMetadataTooLarge, kerr.OffsetMetadataTooLarge},
	// Kafka answers a write of __consumer_offsets that failed for a reason
	// the client cannot act on (a batch too large) with this; the
	// coordinator logs the cause.
	{group.ErrWriteFailed, kerr.UnknownServerError},
	{errInvalidRequest, kerr.InvalidRequest},
	{context.Canceled, kerr.RequestTimedOut},
	{context.DeadlineExceeded, kerr.RequestTimedOut},
}

// errorCode is the Kafka error code for err (0 for nil). Errors the table
// does not know are UNKNOWN_SERVER_ERROR, and logged: they are bugs or I/O
// failures the operator should see.
func (h *Handlers) errorCode(err error) int16 {
	if err == nil {
		return 0
	}
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return c.kerr.Code
		}
	}
	h.Logger.Error("request failed", "err", err)
	return kerr.UnknownServerError.Code
}

// errorMessage is the message for responses that carry one: the error's own
// text for known errors, nothing for internal ones.
func errorMessage(err error) *string {
	if err == nil {
		return nil
	}
	for _, c := range codes {
		if errors.Is(err, c.err) {
			s := err.Error()
			return &s
		}
	}
	return nil
}

// nullConfigValue is AlterConfigs' answer to a null value: Kafka refuses
// it with INVALID_CONFIG.
func nullConfigValue(name string) error {
	return &topicconfig.Error{Name: name, Message: "Null value not supported for topic config " + name}
}
