package metadata

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidTopic is a topic name Kafka would refuse (INVALID_TOPIC_EXCEPTION).
var ErrInvalidTopic = errors.New("invalid topic name")

// Kafka's internal topics (Topic.INTERNAL_TOPICS): only the broker creates
// them for its own use and only it writes them. ClusterMetadataTopic is
// KRaft's metadata log, never a topic clients may create (its partition
// folder holds the controller's record log).
const (
	OffsetsTopic          = "__consumer_offsets"
	TransactionStateTopic = "__transaction_state"
	ShareGroupStateTopic  = "__share_group_state"
	ClusterMetadataTopic  = "__cluster_metadata"
)

// IsInternalTopic reports whether name is one of Kafka's internal topics.
// As in KRaft, being internal is a matter of the name: a topic of that name
// is internal however it was created.
func IsInternalTopic(name string) bool {
	switch name {
	case OffsetsTopic, TransactionStateTopic, ShareGroupStateTopic:
		return true
	}
	return false
}

// MaxTopicNameLength is Kafka's limit: 249, so that a partition folder name
// (topic-partition) fits in 255 bytes.
const MaxTopicNameLength = 249

// ValidateTopicName applies Kafka's rules (Topic.validate): not empty, not
// "." or "..", at most 249 characters of [a-zA-Z0-9._-].
func ValidateTopicName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: topic name is empty", ErrInvalidTopic)
	case name == "." || name == "..":
		return fmt.Errorf("%w: topic name cannot be %q", ErrInvalidTopic, name)
	case len(name) > MaxTopicNameLength:
		return fmt.Errorf("%w: topic name is longer than %d characters", ErrInvalidTopic, MaxTopicNameLength)
	}
	for _, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return fmt.Errorf("%w: %q contains a character other than ASCII alphanumerics, '.', '_' and '-'", ErrInvalidTopic, name)
		}
	}
	return nil
}

// CollidingTopic is a topic of im whose name differs from name only where
// one has '.' and the other '_', if there is one. Kafka refuses to create
// such a topic (Topic.hasCollision): the two would share metric names, in
// which '.' becomes '_'. The same name is no collision (that topic exists).
// A name that collides with one of Kafka's internal topic names collides
// whether that topic exists yet or not, and an internal name collides with
// nothing (a data directory of an older Ordo may hold a colliding topic), so
// no client topic can keep the broker from creating its own.
func (im *Image) CollidingTopic(name string) (string, bool) {
	if !strings.ContainsAny(name, "._") || IsInternalTopic(name) {
		return "", false
	}
	unified := unifyCollisionChars(name)
	for _, internal := range []string{OffsetsTopic, TransactionStateTopic, ShareGroupStateTopic} {
		if internal != name && unifyCollisionChars(internal) == unified {
			return internal, true
		}
	}
	for _, other := range im.TopicNames() {
		if other != name && unifyCollisionChars(other) == unified {
			return other, true
		}
	}
	return "", false
}

// unifyCollisionChars is Kafka's Topic.unifyCollisionChars.
func unifyCollisionChars(name string) string { return strings.ReplaceAll(name, ".", "_") }
