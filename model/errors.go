package model

import "strconv"

// ErrorCode is a Kafka protocol error code, as a client sees it in a
// response. The numbers are Kafka's (a test holds them against franz-go's
// kerr table), so the model's answers compare directly with a broker's.
type ErrorCode int16

// The error codes the model answers with.
const (
	None                     ErrorCode = 0
	OffsetOutOfRange         ErrorCode = 1
	UnknownTopicOrPartition  ErrorCode = 3
	InvalidTopicException    ErrorCode = 17
	InvalidGroupID           ErrorCode = 24
	TopicAlreadyExists       ErrorCode = 36
	InvalidPartitions        ErrorCode = 37
	OutOfOrderSequenceNumber ErrorCode = 45
	InvalidProducerEpoch     ErrorCode = 47
	UnknownProducerID        ErrorCode = 59
	InvalidRecord            ErrorCode = 87
)

var errorNames = map[ErrorCode]string{
	None:                     "NONE",
	OffsetOutOfRange:         "OFFSET_OUT_OF_RANGE",
	UnknownTopicOrPartition:  "UNKNOWN_TOPIC_OR_PARTITION",
	InvalidTopicException:    "INVALID_TOPIC_EXCEPTION",
	InvalidGroupID:           "INVALID_GROUP_ID",
	TopicAlreadyExists:       "TOPIC_ALREADY_EXISTS",
	InvalidPartitions:        "INVALID_PARTITIONS",
	OutOfOrderSequenceNumber: "OUT_OF_ORDER_SEQUENCE_NUMBER",
	InvalidProducerEpoch:     "INVALID_PRODUCER_EPOCH",
	UnknownProducerID:        "UNKNOWN_PRODUCER_ID",
	InvalidRecord:            "INVALID_RECORD",
}

// String is the code's name as Kafka's protocol documentation spells it.
func (c ErrorCode) String() string {
	if n, ok := errorNames[c]; ok {
		return n
	}
	return "ERROR_" + strconv.Itoa(int(c))
}

// ErrorCodes lists every code the model can answer with, for tests that hold
// them against another table.
func ErrorCodes() []ErrorCode {
	return []ErrorCode{None, OffsetOutOfRange, UnknownTopicOrPartition, InvalidTopicException,
		InvalidGroupID, TopicAlreadyExists, InvalidPartitions, OutOfOrderSequenceNumber,
		InvalidProducerEpoch, UnknownProducerID, InvalidRecord}
}
