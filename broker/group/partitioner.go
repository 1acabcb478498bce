package group

import (
	"math"
	"unicode/utf16"
)

// OffsetsTopic is the internal topic that holds groups and their offsets.
const OffsetsTopic = "__consumer_offsets"

// PartitionFor is the partition of __consumer_offsets that holds a group,
// computed as Kafka does so that a group lives where a Kafka broker would
// put it: Utils.abs(groupId.hashCode()) % partitions, with Java's
// String.hashCode over UTF-16 code units (s[0]*31^(n-1) + ... + s[n-1] in
// 32-bit arithmetic) and Utils.abs mapping math.MinInt32 to 0.
func PartitionFor(groupID string, partitions int32) int32 {
	if partitions <= 0 {
		return 0
	}
	return javaAbs(javaStringHash(groupID)) % partitions
}

// javaStringHash is java.lang.String.hashCode. A Go string that is not
// valid UTF-8 is read as Java would decode it: each bad byte as U+FFFD.
func javaStringHash(s string) int32 {
	var h int32
	for _, c := range utf16.Encode([]rune(s)) {
		h = 31*h + int32(c)
	}
	return h
}

// javaAbs is org.apache.kafka.common.utils.Utils.abs.
func javaAbs(n int32) int32 {
	if n == math.MinInt32 {
		return 0
	}
	if n < 0 {
		return -n
	}
	return n
}
