package group

import (
	"bytes"
	"time"
)

// member is one member of a group (Kafka's ClassicGroupMember).
type member struct {
	id                 string
	instanceID         *string
	clientID           string
	clientHost         string
	rebalanceTimeoutMs int32
	sessionTimeoutMs   int32
	protocolType       string
	protocols          []Protocol
	assignment         []byte

	// joinWaiter and syncWaiter are the member's parked JoinGroup and
	// SyncGroup, if any.
	joinWaiter Waiter
	syncWaiter Waiter
	// isNew: joined but has not yet had a JoinGroup answered. A new member
	// that waits too long is dropped, even while it waits in JoinGroup.
	isNew bool
	// heartbeatAt is when the member's session expires (zero: no deadline).
	heartbeatAt time.Time
}

// metadata is the member's metadata for protocol, or nil.
func (m *member) metadata(protocol string) []byte {
	for _, p := range m.protocols {
		if p.Name == protocol {
			return p.Metadata
		}
	}
	return nil
}

// matches reports whether protocols are exactly the member's (names and
// metadata, in order): a rejoin that changes nothing needs no rebalance.
func (m *member) matches(protocols []Protocol) bool {
	if len(m.protocols) != len(protocols) {
		return false
	}
	for i := range protocols {
		if m.protocols[i].Name != protocols[i].Name || !bytes.Equal(m.protocols[i].Metadata, protocols[i].Metadata) {
			return false
		}
	}
	return true
}

// vote is the member's most preferred protocol among the candidates.
func (m *member) vote(candidates map[string]bool) string {
	for _, p := range m.protocols {
		if candidates[p.Name] {
			return p.Name
		}
	}
	return ""
}

func (m *member) static() bool { return m.instanceID != nil }
