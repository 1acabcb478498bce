package linearizability

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/require"
)

// The planted histories: one per anomaly name and per class of issue 12,
// each a whole history with the verdict both checkers must reach, and the
// valid variants (indeterminate writes that appear or never appear,
// retention, compaction, seeks, rebalances) that must pass. They are also
// written to testdata/planted as JSON lines, with expected.json saying
// what ordo-check must answer for each (cmd/ordo-check's tests run it on
// every file): examples a user can edit by hand. After changing a case,
// regenerate them with
//
//	go test ./linearizability -run TestPlantedHistories -rewrite
//
// and read the diff.

var rewrite = flag.Bool("rewrite", false, "rewrite testdata/planted from the planted cases")

const plantedDir = "testdata/planted"

type plantedCase struct {
	name      string // the file's name, without .jsonl
	about     string // what is planted
	ops       []Op
	compacted bool // topic t is compacted (ordo-check --compacted t)
	verdict   Verdict
	static    []string // the static checker's anomaly names, sorted
	logFails  bool     // porcupine's log check finds no linearization
	offFails  bool     // porcupine's committed-offset check finds none
}

// plantedExpectation is one entry of testdata/planted/expected.json.
type plantedExpectation struct {
	File      string   `json:"file"`
	About     string   `json:"about"`
	Compacted []string `json:"compacted,omitempty"`
	Verdict   Verdict  `json:"verdict"`
	Exit      int      `json:"exit"` // ordo-check's exit status
	Anomalies []string `json:"anomalies"`
	Log       string   `json:"log"`     // PASS or FAIL
	Offsets   string   `json:"offsets"` // PASS or FAIL
}

// exitStatus is ordo-check's exit status for a verdict (a history it
// cannot read exits 2).
func exitStatus(v Verdict) int {
	switch v {
	case VerdictFail:
		return 1
	case VerdictInvalid:
		return 3
	}
	return 0
}

// declared prepends the declaration that every producer is recorded.
func declared(parts ...any) []Op { return cat(append([]any{Declaration("planted")}, parts...)...) }

func notLinearizable(op Op) Op {
	op.Linearizable = false
	return op
}

func earliest(client int, p int32, call, ret int64, start int64) Op {
	return Op{Client: client, Kind: KindListOffsets, Call: call, Return: ret, Outcome: OK, Topic: "t", Partition: p,
		Spec: SpecEarliest, Offset: start}
}

// fetched adds what a poll's fetch of partition p reported.
func fetched(op Op, p int32, hw, logStart int64) Op {
	op.Fetched = append(op.Fetched, Fetched{Topic: "t", Partition: p, HighWatermark: hw, LogStartOffset: logStart})
	return op
}

// writes acknowledges values a<from>..a<to> at their offsets on partition p.
func writes(p int32, from, to int64) []Op {
	var out []Op
	for o := from; o <= to; o++ {
		out = append(out, prod(0, p, o*10, o*10+5, fmt.Sprintf("a%d", o), o))
	}
	return out
}

// unresolvedProduces: a0 at 0, then n indeterminate produces of 16
// clients, overlapping, then a1 acknowledged at offset ack and reads of
// the latest offset; with drain, a complete drain finds only a0 and
// a1 (ack must be 1).
func unresolvedProduces(n int, ack int64, drain bool) []Op {
	ops := cat(prod(0, 0, 0, 10, "a0", 0), latest(17, 0, 20, 30, 1))
	for i := range n {
		c := 1 + i%16
		call := int64(100 + (i/16)*1000 + c*10)
		op := prodOutcome(c, 0, call, call+5000, fmt.Sprintf("u%d", i), Info)
		op.Error = "context deadline exceeded"
		ops = append(ops, op)
	}
	ops = append(ops, latest(17, 0, 20000, 20010, 1), prod(0, 0, 30000, 30010, "a1", ack), latest(17, 0, 40000, 40010, ack+1))
	if drain {
		ops = append(ops, drained(18, 0, 50000, 0, 2, rec(0, 0, "a0"), rec(0, 1, "a1"))...)
	}
	return ops
}

func plantedCases() []plantedCase {
	fail := func(name, about string, ops []Op, static ...string) plantedCase {
		sort.Strings(static)
		return plantedCase{name: name, about: about, ops: ops, verdict: VerdictFail, static: static}
	}
	pass := func(name, about string, ops []Op) plantedCase {
		return plantedCase{name: name, about: about, ops: ops, verdict: VerdictPass}
	}
	invalid := func(name, about string, ops []Op) plantedCase {
		return plantedCase{name: name, about: about, ops: ops, verdict: VerdictInvalid}
	}
	withLog := func(c plantedCase) plantedCase { c.logFails = true; return c }
	withOffsets := func(c plantedCase) plantedCase { c.offFails = true; return c }
	compacted := func(c plantedCase) plantedCase { c.compacted = true; return c }

	cases := []plantedCase{
		// Every anomaly name, planted the documented way.
		withLog(fail(InconsistentOffsets, "a poll finds zz at offset 1, where a1 was acknowledged",
			cat(prod(0, 0, 0, 10, "a0", 0), prod(0, 0, 20, 30, "a1", 1),
				poll(1, 40, 50, rec(0, 0, "a0"), rec(0, 1, "a1")),
				poll(2, 40, 50, rec(0, 1, "zz"))), InconsistentOffsets)),
		fail(Duplicate, "the drain finds a0 at offsets 0 and 2",
			cat(prod(0, 0, 0, 10, "a0", 0), prod(0, 0, 20, 30, "a1", 1),
				drained(5, 0, 100, 0, 3, rec(0, 0, "a0"), rec(0, 1, "a1"), rec(0, 2, "a0"))), Duplicate),
		fail(LostWrite, "a2 was acknowledged at 2; one consumer read 0..1, another started at 3: nobody saw a2",
			cat(prod(0, 0, 0, 10, "a0", 0), prod(0, 0, 20, 30, "a1", 1), prod(0, 0, 40, 50, "a2", 2), prod(0, 0, 60, 70, "a3", 3),
				seek(1, 0, 0, 0), poll(1, 80, 90, rec(0, 0, "a0"), rec(0, 1, "a1")),
				seek(2, 0, 0, 3), poll(2, 80, 90, rec(0, 3, "a3"))), LostWrite),
		withLog(fail(Unseen, "a2 was acknowledged at 2, but the final log ends at 2",
			cat(prod(0, 0, 0, 10, "a0", 0), prod(0, 0, 20, 30, "a1", 1), prod(0, 0, 40, 50, "a2", 2),
				drained(5, 0, 100, 0, 2, rec(0, 0, "a0"), rec(0, 1, "a1"))), Unseen)),
		fail(G1a, "x definitely failed, and a poll reads it",
			cat(prod(0, 0, 0, 10, "a0", 0), prodOutcome(0, 0, 20, 30, "x", Fail),
				poll(1, 40, 50, rec(0, 0, "a0"), rec(0, 1, "x"))), G1a),
		fail(PollSkip, "offset 2 holds a2 (a fetch saw it), but the consumer went from 1 to 3 between polls",
			cat(prod(0, 0, 0, 10, "a0", 0), prod(0, 0, 0, 10, "a1", 1), prod(0, 0, 0, 10, "a2", 2), prod(0, 0, 0, 10, "a3", 3),
				seek(1, 0, 0, 0), poll(1, 20, 30, rec(0, 0, "a0"), rec(0, 1, "a1")), poll(1, 40, 50, rec(0, 3, "a3")),
				fetch(2, 0, 2, 20, 30, 4, rec(0, 2, "a2"))), PollSkip),
		fail(IntPollSkip, "one poll returns offsets 0 and 2; a fetch saw a1 at 1",
			cat(prod(0, 0, 0, 10, "a0", 0), prod(0, 0, 0, 10, "a1", 1), prod(0, 0, 0, 10, "a2", 2),
				poll(1, 20, 30, rec(0, 0, "a0"), rec(0, 2, "a2")),
				fetch(2, 0, 1, 20, 30, 3, rec(0, 1, "a1"))), IntPollSkip),
		fail(NonmonotonicPoll, "the consumer's second poll goes back to offset 1",
			cat(prod(0, 0, 0, 10, "a0", 0), prod(0, 0, 0, 10, "a1", 1), prod(0, 0, 0, 10, "a2", 2),
				seek(1, 0, 0, 0), poll(1, 20, 30, rec(0, 0, "a0"), rec(0, 1, "a1"), rec(0, 2, "a2")),
				poll(1, 40, 50, rec(0, 1, "a1"), rec(0, 2, "a2"))), NonmonotonicPoll),
		fail(IntNonmonotonicPoll, "one poll returns offset 0 after offset 1",
			cat(prod(0, 0, 0, 10, "a0", 0), prod(0, 0, 0, 10, "a1", 1),
				poll(1, 20, 30, rec(0, 0, "a0"), rec(0, 1, "a1"), rec(0, 0, "a0"))), IntNonmonotonicPoll),
		withLog(fail(NonmonotonicSend, "one producer sent a0 then a1; a1 landed first",
			cat(prod(0, 0, 0, 10, "a0", 1), prod(0, 0, 20, 30, "a1", 0),
				poll(1, 40, 50, rec(0, 0, "a1"), rec(0, 1, "a0"))), NonmonotonicSend)),
		fail(IntNonmonotonicSend, "one produce of a0, a1 acknowledged at offsets 1, 0",
			cat(Op{Client: 0, Kind: KindProduce, Call: 0, Return: 10, Outcome: OK, Topic: "t", Values: []string{"a0", "a1"}, Offsets: []int64{1, 0}},
				poll(1, 40, 50, rec(0, 0, "a1"), rec(0, 1, "a0"))), IntNonmonotonicSend),
		withLog(fail(OffsetHole, "the drain finds nothing at offset 2",
			cat(prod(0, 0, 0, 10, "a0", 0), prod(0, 0, 20, 30, "a1", 1), prod(0, 0, 40, 50, "a3", 3),
				drained(5, 0, 100, 0, 4, rec(0, 0, "a0"), rec(0, 1, "a1"), rec(0, 3, "a3"))), OffsetHole)),
		withLog(fail(LogTruncation, "a consumer read up to offset 4; the final log ends at 3",
			cat(prod(0, 0, 0, 10, "a0", 0), prod(0, 0, 0, 10, "a1", 1), prod(0, 0, 0, 10, "a2", 2),
				prodOutcome(0, 0, 0, 10, "a3", Info), prodOutcome(0, 0, 0, 10, "a4", Info),
				poll(1, 20, 30, rec(0, 0, "a0"), rec(0, 1, "a1"), rec(0, 2, "a2"), rec(0, 3, "a3"), rec(0, 4, "a4")),
				drained(5, 0, 100, 0, 3, rec(0, 0, "a0"), rec(0, 1, "a1"), rec(0, 2, "a2"))), LogTruncation)),
		withLog(fail(LogTruncation+"-latest-offsets", "latest offsets said 2; the final log ends at 1",
			cat(prod(0, 0, 0, 10, "a0", 0), latest(1, 0, 20, 30, 2),
				drained(5, 0, 100, 0, 1, rec(0, 0, "a0"))), LogTruncation)),
		withOffsets(fail(CommittedOffsetRegression, "committed 5, then 7 (acknowledged), then read 5 back",
			cat(commit(0, 0, 10, 5, OK), commit(0, 20, 30, 7, OK), fetchOffset(1, 40, 50, 5)), CommittedOffsetRegression)),
		withOffsets(fail(CommittedOffsetRegression+"-after-a-read", "read 7 (an indeterminate commit), then 5",
			cat(commit(0, 0, 10, 5, OK), commit(0, 20, 30, 7, Info), fetchOffset(1, 40, 50, 7), fetchOffset(1, 60, 70, 5)), CommittedOffsetRegression)),
		withOffsets(fail(CommittedOffsetRegression+"-back-to-nothing", "committed 5, then read nothing committed (-1)",
			cat(commit(0, 0, 10, 5, OK), fetchOffset(1, 40, 50, -1)), CommittedOffsetRegression)),

		// 1. Values nobody sent.
		fail(PhantomValue, "every producer is recorded; a poll and the drain find zz, which nobody sent",
			declared(prod(0, 0, 0, 10, "a0", 0), seek(1, 0, 0, 0), poll(1, 20, 30, rec(0, 0, "a0"), rec(0, 1, "zz")),
				drained(5, 0, 100, 0, 2, rec(0, 0, "a0"), rec(0, 1, "zz"))), PhantomValue),
		pass("unrecorded-writer", "the same without the declaration: zz is taken for an unrecorded producer's write (a note says so)",
			cat(prod(0, 0, 0, 10, "a0", 0), seek(1, 0, 0, 0), poll(1, 20, 30, rec(0, 0, "a0"), rec(0, 1, "zz")),
				drained(5, 0, 100, 0, 2, rec(0, 0, "a0"), rec(0, 1, "zz")))),
		fail(WrongPartition, "every producer is recorded; x was sent to partition 0 (timed out) and is read in partition 1",
			declared(prodOutcome(0, 0, 0, 10, "x", Info), prod(1, 1, 0, 10, "b0", 0),
				seek(2, 1, 0, 0), poll(2, 20, 30, rec(1, 0, "b0"), rec(1, 1, "x")),
				drained(5, 0, 100, 0, 0), drained(5, 1, 110, 0, 2, rec(1, 0, "b0"), rec(1, 1, "x"))), WrongPartition),

		// 2. Failed or duplicated across partitions.
		fail(G1a+"-across-partitions", "x definitely failed on partition 0 and is read in partition 1",
			cat(prodOutcome(0, 0, 0, 10, "x", Fail), prod(1, 1, 0, 10, "b0", 0),
				seek(2, 1, 0, 0), poll(2, 20, 30, rec(1, 0, "b0"), rec(1, 1, "x")),
				drained(5, 0, 100, 0, 0), drained(5, 1, 110, 0, 2, rec(1, 0, "b0"), rec(1, 1, "x"))), G1a),
		fail(G1a+"-across-partitions-declared", "the same, every producer recorded: also in the wrong partition",
			declared(prodOutcome(0, 0, 0, 10, "x", Fail), prod(1, 1, 0, 10, "b0", 0),
				seek(2, 1, 0, 0), poll(2, 20, 30, rec(1, 0, "b0"), rec(1, 1, "x")),
				drained(5, 0, 100, 0, 0), drained(5, 1, 110, 0, 2, rec(1, 0, "b0"), rec(1, 1, "x"))), G1a, WrongPartition),
		fail(Duplicate+"-across-partitions", "a0, sent to partition 0 only, is at offset 0 of partitions 0 and 1",
			cat(prod(0, 0, 0, 10, "a0", 0), seek(2, 0, 0, 0), seek(2, 1, 0, 0),
				poll(2, 20, 30, rec(0, 0, "a0"), rec(1, 0, "a0")),
				drained(5, 0, 100, 0, 1, rec(0, 0, "a0")), drained(5, 1, 110, 0, 1, rec(1, 0, "a0"))), Duplicate),

		// 3. Empty or incomplete histories.
		invalid("empty", "no operation at all", nil),
		invalid("declaration-only", "a declaration and nothing else", declared()),
		invalid("no-drain", "a clean run that stopped before its final drain",
			cat(prod(0, 0, 0, 10, "a0", 0), latest(1, 0, 20, 30, 1), seek(2, 0, 0, 0), poll(2, 20, 40, rec(0, 0, "a0")))),
		invalid("drain-incomplete", "the drain gave up after offset 0 of 2 (complete: false)",
			func() []Op {
				d := drained(5, 0, 100, 0, 2, rec(0, 0, "a0"))
				d[1].Complete = false
				return cat(writes(0, 0, 1), seek(2, 0, 0, 0), poll(2, 20, 40, rec(0, 0, "a0"), rec(0, 1, "a1")), d)
			}()),
		invalid("drain-not-final", "a producer was still writing when the drain began",
			cat(writes(0, 0, 0), prod(1, 0, 90, 150, "a1", 1), seek(2, 0, 0, 0), poll(2, 20, 40, rec(0, 0, "a0")),
				drained(5, 0, 100, 0, 1, rec(0, 0, "a0")))),
		invalid("drain-short", "the drain says it is complete, but its reads stop at offset 0 of 2",
			cat(writes(0, 0, 1), seek(2, 0, 0, 0), poll(2, 20, 40, rec(0, 0, "a0"), rec(0, 1, "a1")),
				drained(5, 0, 100, 0, 2, rec(0, 0, "a0")))),

		// 4. Linearizable fetches judged on their records.
		fail(UncommittedRead, "a fetch returns offset 1 with high watermark 1",
			cat(writes(0, 0, 1), notLinearizable(fetch(1, 0, 0, 40, 50, 1, rec(0, 0, "a0"), rec(0, 1, "a1"))),
				drained(5, 0, 100, 0, 2, rec(0, 0, "a0"), rec(0, 1, "a1"))), UncommittedRead),
		fail(UncommittedRead+"-poll", "a poll returns offset 1; its fetch reported high watermark 1",
			cat(writes(0, 0, 1), seek(1, 0, 0, 0), fetched(poll(1, 40, 50, rec(0, 0, "a0"), rec(0, 1, "a1")), 0, 1, 0),
				drained(5, 0, 100, 0, 2, rec(0, 0, "a0"), rec(0, 1, "a1"))), UncommittedRead),
		fail(EmptyFetch, "a linearizable fetch from offset 0 returns nothing below its high watermark 2",
			cat(writes(0, 0, 1), fetch(1, 0, 0, 40, 50, 2),
				drained(5, 0, 100, 0, 2, rec(0, 0, "a0"), rec(0, 1, "a1"))), EmptyFetch),
		withLog(fail("stale-leader-fetch", "a linearizable fetch reports high watermark 1 after a1 was acknowledged at 1: porcupine",
			cat(writes(0, 0, 1), fetch(1, 0, 0, 40, 50, 1, rec(0, 0, "a0")),
				drained(5, 0, 100, 0, 2, rec(0, 0, "a0"), rec(0, 1, "a1"))))),

		// 5. Real time between a write and a read.
		fail(FutureRead, "a poll returns a0 (at 30) before a0's produce is called (at 40)",
			cat(seek(1, 0, 0, 0), poll(1, 20, 30, rec(0, 0, "a0")), prod(0, 0, 40, 50, "a0", 0),
				drained(5, 0, 100, 0, 1, rec(0, 0, "a0"))), FutureRead),

		// 6. Log start and poll-skip.
		pass("retention", "records below 4 are deleted (DeleteRecords); the consumer is reset from 1 to the new log start 4",
			cat(writes(0, 0, 5), seek(1, 0, 0, 0), fetched(poll(1, 60, 70, rec(0, 0, "a0"), rec(0, 1, "a1")), 0, 6, 0),
				earliest(2, 0, 75, 76, 4),
				fetched(poll(1, 80, 90, rec(0, 4, "a4"), rec(0, 5, "a5")), 0, 6, 4),
				drained(5, 0, 100, 4, 6, rec(0, 4, "a4"), rec(0, 5, "a5")))),
		pass("retention-indeterminate", "x's produce timed out; it took offset 1 and was deleted (log start 2) before anyone read it",
			cat(prod(0, 0, 0, 10, "a0", 0), prodOutcome(0, 0, 20, 30, "x", Info), prod(0, 0, 40, 50, "a2", 2),
				earliest(2, 0, 60, 61, 2),
				drained(5, 0, 100, 2, 3, rec(0, 2, "a2")))),
		fail(PollSkip+"-not-deleted", "the log start is 2, yet the consumer jumps from 1 to 4 over a2 and a3",
			cat(writes(0, 0, 5), seek(1, 0, 0, 0), fetched(poll(1, 60, 70, rec(0, 0, "a0"), rec(0, 1, "a1")), 0, 6, 0),
				fetched(poll(1, 80, 90, rec(0, 4, "a4"), rec(0, 5, "a5")), 0, 6, 2),
				earliest(2, 0, 95, 96, 2),
				drained(5, 0, 100, 2, 6, rec(0, 2, "a2"), rec(0, 3, "a3"), rec(0, 4, "a4"), rec(0, 5, "a5"))), PollSkip),

		// 7. Dual ownership: equal timestamps, generations.
		fail(DualOwnership+"-same-time", "two members are assigned partition 0 at the same moment (generations 1, 2) and both poll it",
			cat(writes(0, 0, 1), assignOp(1, 20, 1, "m1", 0), assignOp(2, 20, 2, "m2", 0),
				poll(1, 25, 30, rec(0, 0, "a0")), poll(2, 25, 30, rec(0, 0, "a0")),
				drained(5, 0, 100, 0, 2, rec(0, 0, "a0"), rec(0, 1, "a1"))), DualOwnership),
		fail(DualOwnership+"-same-generation", "m1 owns partition 0 in generation 3 and revokes it; m2 is assigned it in generation 3 too",
			cat(writes(0, 0, 1), assignOp(1, 20, 3, "m1", 0), poll(1, 25, 30, rec(0, 0, "a0")), revokeOp(1, 40, 3, "m1", 0),
				assignOp(2, 50, 3, "m2", 0), poll(2, 55, 60, rec(0, 1, "a1")),
				drained(5, 0, 100, 0, 2, rec(0, 0, "a0"), rec(0, 1, "a1"))), DualOwnership),

		// 8. Unresolved indeterminate produces: no exponential search.
		invalid("unresolved-indeterminate-64", "64 produces time out and the run stops before its drain: porcupine passes at once, the history is invalid",
			unresolvedProduces(64, 5, false)),
		pass("indeterminate-64-never-appear", "64 produces time out; the complete drain finds none of them",
			unresolvedProduces(64, 1, true)),
		pass("indeterminate-appears", "a1's produce timed out; a latest read and the drain show it landed",
			cat(prod(0, 0, 0, 10, "a0", 0), prodOutcome(0, 0, 20, 30, "a1", Info), prod(0, 0, 40, 50, "a2", 2),
				latest(1, 0, 35, 38, 2),
				drained(5, 0, 100, 0, 3, rec(0, 0, "a0"), rec(0, 1, "a1"), rec(0, 2, "a2")))),

		// 9. The linearizable flag of ListOffsets.
		pass("list-offsets-stale-not-linearizable", "a latest offset read that does not claim to be linearizable (a follower's) lags behind",
			cat(prod(0, 0, 0, 10, "a0", 0), notLinearizable(latest(1, 0, 20, 30, 0)), drained(5, 0, 100, 0, 1, rec(0, 0, "a0")))),
		withLog(fail("list-offsets-stale-linearizable", "the same read claiming to be linearizable: porcupine",
			cat(prod(0, 0, 0, 10, "a0", 0), latest(1, 0, 20, 30, 0), drained(5, 0, 100, 0, 1, rec(0, 0, "a0"))))),

		// Porcupine's register.
		withOffsets(fail("committed-offset-from-nowhere", "committed 5, then read 3, which nobody committed: porcupine",
			cat(commit(0, 0, 10, 5, OK), fetchOffset(1, 20, 30, 3)))),

		// Valid runs.
		pass("clean", "two partitions, producers, a consumer, linearizable readers, commits, a complete drain", cleanOps()),
		pass("seeks", "a consumer seeks back and is rebalanced",
			cat(writes(0, 0, 2), seek(1, 0, 0, 0), poll(1, 30, 40, rec(0, 0, "a0"), rec(0, 1, "a1"), rec(0, 2, "a2")),
				seek(1, 0, 41, 1), poll(1, 50, 60, rec(0, 1, "a1")),
				Op{Client: 1, Kind: KindSeek, Call: 61, Return: 61, Outcome: OK}, // a rebalance: every position reset
				poll(1, 70, 80, rec(0, 0, "a0"), rec(0, 1, "a1")),
				drained(5, 0, 100, 0, 3, rec(0, 0, "a0"), rec(0, 1, "a1"), rec(0, 2, "a2")))),
		pass("rebalance", "partition 0 is handed from member m1 to m2 in an eager rebalance, with commits", cleanGroupScenario().ops()),
		compacted(pass("compacted", "a compacted topic: superseded values and a tombstone are gone from the drain",
			cat(compactedWrites(),
				seek(1, 0, 61, 0), poll(1, 70, 80, krec(3, "k2", ""), krec(4, "k3", "c0")), poll(1, 81, 90, krec(5, "k1", "a2")),
				drained(5, 0, 100, 0, 6, krec(3, "k2", ""), krec(4, "k3", "c0"), krec(5, "k1", "a2"))))),
	}
	for _, g := range groupCases() {
		name := strings.NewReplacer(" (", "-", ")", "", " ", "-").Replace(g.name)
		c := fail(name, "group: "+g.name, g.ops, g.want...)
		// The register itself regresses: porcupine agrees.
		c.offFails = slices.Contains(g.want, CommittedOffsetRegression)
		cases = append(cases, c)
	}
	return cases
}

// TestPlantedHistories checks every planted history with both checkers and
// requires its exact verdict, anomaly names and porcupine results, and
// keeps testdata/planted in step with the cases.
func TestPlantedHistories(t *testing.T) {
	var expected []plantedExpectation
	covered := map[string]bool{}
	for _, c := range plantedCases() {
		h := hist(c.ops...)
		requireValid(t, h)
		opts := Options{}
		if c.compacted {
			opts.Compacted = func(topic string) bool { return topic == "t" }
		}
		t.Run(c.name, func(t *testing.T) {
			rep := Check(h, opts)
			var sb bytes.Buffer
			rep.WriteSummary(&sb)
			t.Log("\n" + sb.String())
			for _, a := range rep.Static.Anomalies {
				require.NotEmpty(t, a.Ops, "an anomaly names its operations")
				for _, i := range a.Ops {
					require.True(t, i >= 0 && i < len(h))
				}
			}
			require.Equal(t, c.static, names(rep.Static.Anomalies), "static anomalies")
			require.Equal(t, c.logFails, !rep.Log.OK(), "porcupine log: %s", rep.Log.Result)
			require.NotEqual(t, porcupine.Unknown, rep.Log.Result, "no check may time out")
			require.Equal(t, c.offFails, !rep.Offsets.OK(), "porcupine committed offsets: %s", rep.Offsets.Result)
			require.Equal(t, c.verdict, rep.Verdict())
			if c.verdict == VerdictInvalid {
				require.NotEmpty(t, rep.Invalid)
			}
		})
		for _, n := range c.static {
			covered[n] = true
		}
		e := plantedExpectation{File: c.name + ".jsonl", About: c.about, Verdict: c.verdict, Exit: exitStatus(c.verdict),
			Anomalies: c.static, Log: "PASS", Offsets: "PASS"}
		if e.Anomalies == nil {
			e.Anomalies = []string{}
		}
		if c.compacted {
			e.Compacted = []string{"t"}
		}
		if c.logFails {
			e.Log = "FAIL"
		}
		if c.offFails {
			e.Offsets = "FAIL"
		}
		expected = append(expected, e)
		var buf bytes.Buffer
		require.NoError(t, WriteHistory(&buf, h))
		syncGolden(t, filepath.Join(plantedDir, e.File), buf.Bytes())
	}
	for _, n := range AnomalyNames {
		require.True(t, covered[n], "no planted history for %s", n)
	}
	manifest, err := json.MarshalIndent(expected, "", "  ")
	require.NoError(t, err)
	syncGolden(t, filepath.Join(plantedDir, "expected.json"), append(manifest, '\n'))

	// A line with trailing data is bad input (ordo-check exits 2): a torn
	// write that glued two operations must not be read as the first.
	glued := `{"index":0,"client":0,"kind":"produce","call":0,"return":10,"outcome":"ok","topic":"t","values":["a0"],"offsets":[0]}` +
		`{"index":1,"client":1,"kind":"list-offsets","call":20,"return":30,"outcome":"ok","topic":"t","spec":"latest","offset":1,"linearizable":true}` + "\n"
	syncGolden(t, filepath.Join(plantedDir, "bad-trailing-data.jsonl"), []byte(glued))
	_, err = ReadHistory(bytes.NewReader([]byte(glued)))
	require.ErrorContains(t, err, "trailing data")
}

// syncGolden writes want to path with -rewrite, and otherwise requires the
// file to hold it.
func syncGolden(t *testing.T, path string, want []byte) {
	t.Helper()
	if *rewrite {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, want, 0o644))
		return
	}
	got, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./linearizability -run TestPlantedHistories -rewrite")
	require.Equal(t, string(want), string(got), "%s is stale: run go test ./linearizability -run TestPlantedHistories -rewrite", path)
}
