package group

// Waiter identifies a request the machine answers later, through a Reply in
// an Output. The caller allocates waiters; 0 means none.
type Waiter uint64

// WriteID identifies a write the machine asked for, in Written.
type WriteID uint64

// Protocol is one protocol a member supports, with its metadata (for
// consumers, a kmsg.ConsumerMemberMetadata).
type Protocol struct {
	Name     string
	Metadata []byte
}

// JoinRequest is a JoinGroup request.
type JoinRequest struct {
	Group              string
	MemberID           string
	InstanceID         *string
	ProtocolType       string
	Protocols          []Protocol
	SessionTimeoutMs   int32
	RebalanceTimeoutMs int32
	ClientID           string
	ClientHost         string
	// Version is the request's version: MEMBER_ID_REQUIRED from v4
	// (KIP-394), SkipAssignment from v9 (KIP-814).
	Version int16
}

// JoinResult is the answer to a JoinGroup.
type JoinResult struct {
	Err            error
	MemberID       string
	Generation     int32
	ProtocolType   *string
	Protocol       *string
	Leader         string
	SkipAssignment bool
	// Members is set for the leader only: every member with its metadata
	// for the chosen protocol.
	Members []JoinMember
}

// JoinMember is one member as the leader sees it in JoinGroup.
type JoinMember struct {
	MemberID   string
	InstanceID *string
	Metadata   []byte
}

// SyncRequest is a SyncGroup request.
type SyncRequest struct {
	Group        string
	MemberID     string
	InstanceID   *string
	Generation   int32
	ProtocolType *string // v5+
	Protocol     *string // v5+
	// Assignments is the leader's assignment; empty for followers.
	Assignments []Assignment
}

// Assignment is the leader's assignment for one member.
type Assignment struct {
	MemberID   string
	Assignment []byte
}

// SyncResult is the answer to a SyncGroup.
type SyncResult struct {
	Err          error
	ProtocolType *string
	Protocol     *string
	Assignment   []byte
}

// HeartbeatRequest is a Heartbeat request.
type HeartbeatRequest struct {
	Group      string
	MemberID   string
	InstanceID *string
	Generation int32
}

// LeaveMember is one member leaving: by member id, or (KIP-345, LeaveGroup
// v3+) by group.instance.id with an empty member id.
type LeaveMember struct {
	MemberID   string
	InstanceID *string
}

// LeaveResult is the answer for one leaving member.
type LeaveResult struct {
	MemberID   string
	InstanceID *string
	Err        error
}

// TopicPartition names a partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// Offset is a committed offset.
type Offset struct {
	Offset          int64
	LeaderEpoch     int32
	Metadata        string
	CommitTimestamp int64
	// record is the offset of the record in __consumer_offsets that set
	// it: a write that completes late never overwrites a newer commit.
	record int64
}

// CommitRequest is an OffsetCommit request for one group.
type CommitRequest struct {
	Group      string
	MemberID   string
	InstanceID *string
	Generation int32
	Offsets    []CommitOffset
}

// CommitOffset is one partition's commit.
type CommitOffset struct {
	TopicPartition
	Offset      int64
	LeaderEpoch int32
	Metadata    *string
}

// Reply answers a parked request. Exactly one of the result fields is set,
// unless Err is: then the whole request failed (for example the coordinator
// lost the partition) and the handler answers every part with Err.
type Reply struct {
	To     Waiter
	Err    error
	Join   *JoinResult
	Sync   *SyncResult
	Commit []error // one per CommitRequest.Offsets, in order
	// Deleted answers DeleteGroups (a successful one; failures use Err).
	Deleted bool
	// OffsetDelete answers OffsetDelete: one error per requested partition.
	OffsetDelete []error
}

// Record is a record for __consumer_offsets in Kafka's formats. A nil Value
// is a tombstone.
type Record struct {
	Key, Value []byte
}

// Write is records to append as one batch. The caller reports the outcome
// with Written(ID, ...).
type Write struct {
	ID      WriteID
	Records []Record
}

// Output is what a step of the machine asks the caller to do: deliver the
// replies, then append each write in order.
type Output struct {
	Replies []Reply
	Writes  []Write
}

// Description is a group as DescribeGroups shows it.
type Description struct {
	State        State
	ProtocolType string
	// Protocol is the chosen protocol, only when Stable (as Kafka).
	Protocol string
	Members  []MemberDescription
}

// MemberDescription is one member in DescribeGroups. Metadata and
// Assignment are set only when the group is Stable.
type MemberDescription struct {
	MemberID   string
	InstanceID *string
	ClientID   string
	ClientHost string
	Metadata   []byte
	Assignment []byte
}
