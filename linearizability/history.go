package linearizability

import (
	"fmt"
	"math"
)

// Kind is what an operation did.
type Kind string

// The operations a history holds. Each Op field documents which kinds use it.
const (
	// KindProduce: Topic, Partition, Values; Offsets when ok (one per value).
	KindProduce Kind = "produce"
	// KindPoll: a consumer's poll. Records in the order returned; Fetched
	// holds what each fetched partition reported (high watermark, error).
	// A poll's high watermark may be stale (kgo fetches in the background),
	// so polls are never linearizable reads.
	KindPoll Kind = "poll"
	// KindFetch: one Fetch request to one partition at Offset. Records,
	// HighWatermark and LogStartOffset when ok. Linearizable when the
	// answer came from a leader that had proved its leadership.
	KindFetch Kind = "fetch"
	// KindListOffsets: Topic, Partition, Spec (latest or earliest); the
	// answer in Offset when ok. Latest is a linearizable read.
	KindListOffsets Kind = "list-offsets"
	// KindCommit: Group, Topic, Partition, and the committed Offset. A
	// commit a group member made as a member (kgo's CommitRecords,
	// CommitUncommittedOffsets) carries the Generation and Member it was
	// sent with; an administrative commit (kadm) carries neither.
	KindCommit Kind = "commit"
	// KindFetchOffset: Group, Topic, Partition; the committed offset in
	// Offset when ok (-1: none). A group member's own fetch of its
	// committed offsets after an assignment (before it starts consuming)
	// carries its Generation and Member.
	KindFetchOffset Kind = "fetch-offset"
	// KindAssign: a group member (the client) was assigned Topic/Partition
	// of Group in Generation, as Member (kgo's OnPartitionsAssigned).
	// Call and Return bracket the callback; the member fetches committed
	// offsets and consumes the partition only after it returned. Without
	// a Topic, the member entered Generation with nothing new assigned.
	KindAssign Kind = "assign"
	// KindRevoke: a group member gave up Topic/Partition of Group (kgo's
	// OnPartitionsRevoked; Call and Return bracket the callback, inside
	// which the member may still commit). Lost marks a partition the
	// member lost without giving it up (OnPartitionsLost: its session
	// ended, so the group may have moved the partition before Call).
	KindRevoke Kind = "revoke"
	// KindSeek: the client's consumer position for Topic/Partition became
	// Offset (an explicit seek or an assignment). With no Topic, every
	// position of the client was reset (a rebalance).
	KindSeek Kind = "seek"
	// KindDrain: the final drain of Topic/Partition read from
	// LogStartOffset up to HighWatermark (taken after every writer
	// stopped); Complete when every offset below it was fetched.
	KindDrain Kind = "drain"
	// KindFault: a fault the test injected (Description), drawn on the
	// visualization; the checkers otherwise ignore it.
	KindFault Kind = "fault"
	// KindHistory: not a call but what the history says of itself; only
	// as its first line (index 0, times 0). ProducersRecorded declares
	// that every producer that wrote to the history's topics was
	// recorded (the workloads' case), so a value no recorded produce
	// sent to its partition is an anomaly (phantom-value,
	// wrong-partition) instead of an unrecorded client's write.
	// Description may say which workload and seed made it.
	KindHistory Kind = "history"
)

// Outcome is how an operation ended, as the client knows it.
type Outcome string

// The outcomes. Only Fail promises that nothing happened; a write that was
// Info may have happened, once or (without idempotence) more than once.
const (
	OK   Outcome = "ok"
	Fail Outcome = "fail" // definite: the cluster did not apply it
	Info Outcome = "info" // indeterminate: timeout, lost connection, ...
)

// Offset specs of list-offsets.
const (
	SpecLatest   = "latest"
	SpecEarliest = "earliest"
)

// Record is one record a read returned. Key matters only on compacted
// topics (Options.Compacted), where a record with Value "" is a tombstone
// (a null value).
type Record struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition,omitempty"`
	Offset    int64  `json:"offset,omitempty"`
	Key       string `json:"key,omitempty"`
	Value     string `json:"value"`
}

// Fetched is what a poll learnt of one partition besides its records.
type Fetched struct {
	Topic          string `json:"topic"`
	Partition      int32  `json:"partition,omitempty"`
	HighWatermark  int64  `json:"high_watermark,omitempty"`
	LogStartOffset int64  `json:"log_start_offset,omitempty"`
	Error          string `json:"error,omitempty"`
}

// Op is one client call: who, what, when (Call and Return in nanoseconds of
// one monotonic clock) and how it ended. Numeric fields are omitted from JSON
// when zero, which reads back the same.
type Op struct {
	Index   int     `json:"index"` // position in the history
	Client  int     `json:"client"`
	Kind    Kind    `json:"kind"`
	Call    int64   `json:"call"`
	Return  int64   `json:"return"`
	Outcome Outcome `json:"outcome"`
	Error   string  `json:"error,omitempty"`

	Group        string `json:"group,omitempty"`
	Topic        string `json:"topic,omitempty"`
	Partition    int32  `json:"partition,omitempty"`
	Offset       int64  `json:"offset,omitempty"`
	Spec         string `json:"spec,omitempty"`
	Linearizable bool   `json:"linearizable,omitempty"`
	Drain        bool   `json:"drain,omitempty"` // a read of the final drain

	Values  []string `json:"values,omitempty"`
	Offsets []int64  `json:"offsets,omitempty"`
	// Keys are the produced records' keys, one per value (or none):
	// compacted topics are judged per key. A tombstone's value is "".
	Keys []string `json:"keys,omitempty"`

	Records        []Record  `json:"records,omitempty"`
	Fetched        []Fetched `json:"fetched,omitempty"`
	HighWatermark  int64     `json:"high_watermark,omitempty"`
	LogStartOffset int64     `json:"log_start_offset,omitempty"`
	Complete       bool      `json:"complete,omitempty"`

	Description string `json:"description,omitempty"`

	// Group membership (assign, revoke; commit and fetch-offset of a
	// member). Generation 0 is unknown: a formed group's generations
	// start at 1.
	Generation int32  `json:"generation,omitempty"`
	Member     string `json:"member,omitempty"`
	Lost       bool   `json:"lost,omitempty"` // a revoke that lost the partition

	// ProducersRecorded: see KindHistory.
	ProducersRecorded bool `json:"producers_recorded,omitempty"`
}

// History is every operation of a run, Index i at position i. Its first
// line may be a KindHistory declaration.
type History []Op

// ProducersRecorded reports whether the history declares that every
// producer was recorded (see KindHistory).
func (h History) ProducersRecorded() bool {
	return len(h) > 0 && h[0].Kind == KindHistory && h[0].ProducersRecorded
}

// Declaration is the first line of a history whose every producer is
// recorded (see KindHistory); description may name the workload and seed.
func Declaration(description string) Op {
	return Op{Kind: KindHistory, Outcome: OK, ProducersRecorded: true, Description: description}
}

// TopicPartition names a partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

func (tp TopicPartition) String() string { return fmt.Sprintf("%s/%d", tp.Topic, tp.Partition) }

func (op *Op) tp() TopicPartition { return TopicPartition{op.Topic, op.Partition} }

// never is the return time of a write whose effect may come at any time.
const never = math.MaxInt64

// Validate reports the first operation that breaks the format: a wrong
// index, an unknown kind or outcome, a return before its call, a produce
// whose offsets do not match its values, a record of another partition in a
// fetch, group operations without their group, a history declaration
// anywhere but on the first line.
func (h History) Validate() error {
	for i := range h {
		op := &h[i]
		bad := func(format string, args ...any) error {
			return fmt.Errorf("operation %d: %s", i, fmt.Sprintf(format, args...))
		}
		if op.Index != i {
			return bad("index %d, want its position %d", op.Index, i)
		}
		if op.Client < 0 {
			return bad("negative client %d", op.Client)
		}
		switch op.Outcome {
		case OK, Fail, Info:
		default:
			return bad("unknown outcome %q", op.Outcome)
		}
		if op.Return < op.Call {
			return bad("returns (%d) before its call (%d)", op.Return, op.Call)
		}
		switch op.Kind {
		case KindProduce:
			if op.Topic == "" || len(op.Values) == 0 {
				return bad("a produce needs a topic and values")
			}
			if op.Outcome == OK && len(op.Offsets) != len(op.Values) {
				return bad("an ok produce needs one offset per value (%d values, %d offsets)", len(op.Values), len(op.Offsets))
			}
			if len(op.Keys) > 0 && len(op.Keys) != len(op.Values) {
				return bad("a produce with keys needs one key per value (%d values, %d keys)", len(op.Values), len(op.Keys))
			}
		case KindFetch:
			for _, r := range op.Records {
				if r.Topic != op.Topic || r.Partition != op.Partition {
					return bad("fetch of %s returned a record of %s/%d", op.tp(), r.Topic, r.Partition)
				}
			}
		case KindListOffsets:
			if op.Spec != SpecLatest && op.Spec != SpecEarliest {
				return bad("unknown offset spec %q", op.Spec)
			}
		case KindCommit, KindFetchOffset, KindRevoke:
			if op.Group == "" || op.Topic == "" {
				return bad("%s needs a group and a topic", op.Kind)
			}
		case KindAssign:
			if op.Group == "" {
				return bad("an assign needs a group")
			}
		case KindDrain:
			if op.Topic == "" {
				return bad("a drain needs a topic")
			}
		case KindHistory:
			if i != 0 || op.Call != 0 || op.Return != 0 {
				return bad("a history declaration belongs on the first line, at time 0")
			}
		case KindPoll, KindSeek, KindFault:
		default:
			return bad("unknown kind %q", op.Kind)
		}
	}
	return nil
}
