package linearizability

import (
	"fmt"
	"sort"
	"strings"
)

// The anomaly names, as Jepsen's Kafka workload reports them (plus Ordo's
// offset and committed-offset ones), so results compare.
const (
	// InconsistentOffsets: one offset holds two values.
	InconsistentOffsets = "inconsistent-offsets"
	// Duplicate: one value at two offsets of a partition, or at offsets in
	// two partitions when it was not sent to each of them.
	Duplicate = "duplicate"
	// LostWrite: an acknowledged value, at an offset below the highest
	// offset anyone read, was never read.
	LostWrite = "lost-write"
	// Unseen: acknowledged values still unread after a complete final drain.
	Unseen = "unseen"
	// G1a (definite-error-visible): a write that definitely failed is
	// visible, in the partition it was sent to or in any other.
	G1a = "G1a"
	// PhantomValue: a read returned a value that no recorded producer
	// sent. Judged only when the history declares every producer recorded
	// (History.ProducersRecorded); otherwise such a value is taken for an
	// unrecorded client's write.
	PhantomValue = "phantom-value"
	// WrongPartition: a read returned, in one partition, a value that
	// recorded producers sent only to others. Judged only when the
	// history declares every producer recorded.
	WrongPartition = "wrong-partition"
	// FutureRead: a read returned a value before any produce of it was
	// called: it cannot have been written yet.
	FutureRead = "future-read"
	// UncommittedRead: a fetch (or a poll) returned a record at or above
	// the high watermark it reported with it: a record that was not
	// committed, which Kafka never serves to consumers.
	UncommittedRead = "uncommitted-read"
	// EmptyFetch: a fetch from an offset at or above the log start and
	// below the high watermark it reported returned no record, though
	// every offset below the high watermark holds one (not judged on
	// compacted topics, whose cleaned offsets hold none).
	EmptyFetch = "empty-fetch"
	// PollSkip: between two polls a consumer jumped over offsets that hold
	// values. IntPollSkip: the same inside one poll or fetch.
	PollSkip    = "poll-skip"
	IntPollSkip = "int-poll-skip"
	// NonmonotonicPoll: a consumer's poll went back to (or repeated) an
	// offset it had read, with no seek or rebalance between.
	// IntNonmonotonicPoll: the same inside one poll or fetch.
	NonmonotonicPoll    = "nonmonotonic-poll"
	IntNonmonotonicPoll = "int-nonmonotonic-poll"
	// NonmonotonicSend: a producer's later send to a partition landed at a
	// lower offset than its earlier one. IntNonmonotonicSend: the same
	// inside one produce.
	NonmonotonicSend    = "nonmonotonic-send"
	IntNonmonotonicSend = "int-nonmonotonic-send"
	// OffsetHole: offsets with no value inside a range that was read
	// through (offsets are dense: no transactions; not judged on compacted
	// topics, Options.Compacted).
	OffsetHole = "offset-hole"
	// LogTruncation: the final log is shorter than earlier reads showed.
	LogTruncation = "log-truncation"
	// CommittedOffsetRegression: a group's committed offset read went back
	// to a value that had been overwritten before the read began.
	CommittedOffsetRegression = "committed-offset-regression"
	// GroupResumeSkip: a member's first poll of a partition newly
	// assigned to it starts above every value the group's committed
	// offset could hold when the member began, jumping over known values
	// nobody in the group was handed.
	GroupResumeSkip = "group-resume-skip"
	// GroupRewind: a member's first poll of a partition newly assigned to
	// it starts below every value the group's committed offset could hold
	// when the member began: consumption restarts before an offset the
	// group had definitely committed.
	GroupRewind = "group-rewind"
	// DualOwnership: a member was assigned a partition that another member
	// of its group still owned (had not begun to revoke, and had not lost
	// through its session), and both then polled it.
	DualOwnership = "dual-ownership"
	// ZombieCommit: a member's commit was acknowledged although, when it
	// was sent, the member no longer owned the partition (it had revoked
	// or lost it, or was never assigned it), or its generation was stale
	// (the group had already formed a later one).
	ZombieCommit = "zombie-commit"
)

// AnomalyNames lists every name the static checker reports.
var AnomalyNames = []string{
	InconsistentOffsets, Duplicate, LostWrite, Unseen, G1a,
	PhantomValue, WrongPartition, FutureRead, UncommittedRead, EmptyFetch,
	PollSkip, IntPollSkip, NonmonotonicPoll, IntNonmonotonicPoll,
	NonmonotonicSend, IntNonmonotonicSend, OffsetHole, LogTruncation,
	CommittedOffsetRegression, GroupResumeSkip, GroupRewind, DualOwnership,
	ZombieCommit,
}

// Anomaly is one violation, with the operations that show it.
type Anomaly struct {
	Name      string `json:"name"`
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Group     string `json:"group,omitempty"`
	Offset    int64  `json:"offset"` // the offset concerned, -1 if none
	Value     string `json:"value,omitempty"`
	Ops       []int  `json:"ops"` // indexes into the history
	Detail    string `json:"detail"`
}

func (a Anomaly) String() string {
	where := fmt.Sprintf("%s/%d", a.Topic, a.Partition)
	if a.Group != "" {
		where = "group " + a.Group + " " + where
	}
	return fmt.Sprintf("%s %s: %s (ops %v)", a.Name, where, a.Detail, a.Ops)
}

// countAnomalies counts anomalies by name.
func countAnomalies(as []Anomaly) map[string]int {
	m := map[string]int{}
	for _, a := range as {
		m[a.Name]++
	}
	return m
}

// formatCounts renders counts as "name=n, ..." in name order.
func formatCounts(m map[string]int) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s=%d", n, m[n])
	}
	return strings.Join(parts, ", ")
}

// uniqueSorted returns the distinct ints of xs in order.
func uniqueSorted(xs []int) []int {
	s := append([]int(nil), xs...)
	sort.Ints(s)
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}
