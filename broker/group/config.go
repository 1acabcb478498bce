package group

import "time"

// Config is the group state machine's configuration, Kafka's group.* broker
// configs.
type Config struct {
	// InitialRebalanceDelay is group.initial.rebalance.delay.ms: how long
	// the first rebalance of an empty group waits for more members, renewed
	// while members keep joining (up to the rebalance timeout). Kafka's
	// default is 3s; tests use 0.
	InitialRebalanceDelay time.Duration
	// MinSessionTimeout and MaxSessionTimeout bound a member's session
	// timeout (group.min.session.timeout.ms, default 6s, and
	// group.max.session.timeout.ms, default 30m): JoinGroup outside them
	// gets INVALID_SESSION_TIMEOUT.
	MinSessionTimeout time.Duration
	MaxSessionTimeout time.Duration
	// NewMemberJoinTimeout bounds how long a new member's JoinGroup may
	// wait for the rebalance to finish before the member is dropped
	// (Kafka's GROUP_NEW_MEMBER_JOIN_TIMEOUT_MS, 5 minutes).
	NewMemberJoinTimeout time.Duration
	// MaxMetadataSize is offset.metadata.max.bytes: longer commit metadata
	// gets OFFSET_METADATA_TOO_LARGE. Default 4096.
	MaxMetadataSize int
}

// DefaultConfig is Kafka's defaults.
func DefaultConfig() Config {
	return Config{
		InitialRebalanceDelay: 3 * time.Second,
		MinSessionTimeout:     6 * time.Second,
		MaxSessionTimeout:     30 * time.Minute,
		NewMemberJoinTimeout:  5 * time.Minute,
		MaxMetadataSize:       4096,
	}
}

// ValidSessionTimeout reports whether a member may use a session timeout of
// ms milliseconds.
func (c Config) ValidSessionTimeout(ms int32) bool {
	d := time.Duration(ms) * time.Millisecond
	return ms > 0 && d >= c.MinSessionTimeout && (c.MaxSessionTimeout <= 0 || d <= c.MaxSessionTimeout)
}
