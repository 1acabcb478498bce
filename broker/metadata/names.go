package metadata

import (
	"errors"
	"fmt"
)

// ErrInvalidTopic is a topic name Kafka would refuse (INVALID_TOPIC_EXCEPTION).
var ErrInvalidTopic = errors.New("invalid topic name")

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
