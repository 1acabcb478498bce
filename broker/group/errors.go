package group

import "errors"

// Errors the coordinator and the group state machine answer with. The
// handlers map them to Kafka error codes (handler/errors.go).
var (
	ErrNotCoordinator            = errors.New("this broker is not the coordinator of the group")
	ErrCoordinatorLoadInProgress = errors.New("the coordinator is loading the group's partition of __consumer_offsets")
	ErrCoordinatorNotAvailable   = errors.New("the group coordinator is not available")
	ErrInvalidGroupID            = errors.New("the group id is empty")
	ErrGroupIDNotFound           = errors.New("the group does not exist")
	ErrUnknownMemberID           = errors.New("the member id is not known to the group")
	ErrMemberIDRequired          = errors.New("the member must rejoin with the member id it was given (KIP-394)")
	ErrIllegalGeneration         = errors.New("the generation is not the group's current generation")
	ErrRebalanceInProgress       = errors.New("the group is rebalancing")
	ErrInconsistentGroupProtocol = errors.New("the member's protocol type or protocols do not match the group's")
	ErrFencedInstanceID          = errors.New("another member joined with the same group.instance.id (KIP-345)")
	ErrInvalidSessionTimeout     = errors.New("the session timeout is outside group.min.session.timeout.ms and group.max.session.timeout.ms")
	ErrNonEmptyGroup             = errors.New("the group has members")
	ErrGroupSubscribedToTopic    = errors.New("a member of the group is subscribed to the topic")
	ErrOffsetMetadataTooLarge    = errors.New("the committed metadata is larger than offset.metadata.max.bytes")
	// ErrWriteFailed is a failed write of __consumer_offsets that Kafka
	// answers with UNKNOWN_SERVER_ERROR (a batch too large, for example).
	ErrWriteFailed = errors.New("writing to __consumer_offsets failed")
)
