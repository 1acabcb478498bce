package linearizability

import (
	"fmt"
	"math/rand"
	"sort"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/require"
)

// referenceLogModel is the log model before unresolved appends became a
// count, intervals were clipped and histories cut: every append, settled
// or not, is a porcupine operation (an unresolved one returns never and
// is always legal), over the original intervals.
// refInput is one operation of the reference model.
type refInput struct {
	tp     TopicPartition
	read   bool
	value  string
	offset int64 // -1: unresolved
}

func referenceLogModel(seen map[TopicPartition]map[int64]string) porcupine.Model {
	type in = refInput
	return porcupine.Model{
		Partition: partitionBy(func(i any) any { return i.(in).tp }),
		Init:      func() any { return int64(0) },
		Step: func(state, input, _ any) (bool, any) {
			end, i := state.(int64), input.(in)
			switch {
			case i.read:
				return i.offset == end, end
			case i.offset < 0:
				return true, end + 1
			case i.offset != end:
				return false, end
			}
			if s, ok := seen[i.tp][end]; ok && s != i.value {
				return false, end
			}
			return true, end + 1
		},
	}
}

func referenceLogCheck(h History, timeout time.Duration) porcupine.CheckResult {
	facts := factsOf(h)
	appends, _ := resolveAppends(h, facts, func(string) bool { return false })
	type in = refInput
	var ops []porcupine.Operation
	for _, a := range appends {
		ops = append(ops, porcupine.Operation{ClientId: a.client, Call: a.call, Return: a.ret, Input: in{tp: a.tp, value: a.value, offset: a.offset}})
	}
	for i := range h {
		op := &h[i]
		if op.Outcome != OK || !op.Linearizable {
			continue
		}
		hw := op.HighWatermark
		if op.Kind == KindListOffsets {
			hw = op.Offset
		}
		ops = append(ops, porcupine.Operation{ClientId: op.Client, Call: op.Call, Return: op.Return, Input: in{tp: op.tp(), read: true, offset: hw}})
	}
	return porcupine.CheckOperationsTimeout(referenceLogModel(readValues(facts)), ops, timeout)
}

// smallLogHistory simulates a few clients on one or two partitions:
// produces (acknowledged, or indeterminate and applied or not), latest
// offsets and linearizable fetches, each taking effect inside its
// interval; then, with mutate, changes one answer, which may make the
// history illegal. No drain: indeterminate writes no fetch found stay
// unresolved.
func smallLogHistory(rng *rand.Rand, mutate bool) History {
	type pending struct {
		op     Op
		effect int64
		apply  bool
	}
	var ps []pending
	clients, n := 2+rng.Intn(3), 6+rng.Intn(10)
	next := make([]int64, clients)
	for i := range n {
		c := rng.Intn(clients)
		call := next[c] + int64(rng.Intn(20))
		effect := call + 1 + int64(rng.Intn(60))
		ret := effect + 1 + int64(rng.Intn(60))
		next[c] = ret + 1
		op := Op{Client: c, Call: call, Return: ret, Outcome: OK, Topic: "t", Partition: int32(rng.Intn(2))}
		apply := true
		switch k := rng.Intn(10); {
		case k < 6:
			op.Kind, op.Values = KindProduce, []string{fmt.Sprintf("v%d", i)}
			if rng.Intn(2) == 0 {
				op.Outcome, apply = Info, rng.Intn(2) == 0
			}
		case k < 8:
			op.Kind, op.Spec, op.Linearizable = KindListOffsets, SpecLatest, true
		default:
			op.Kind, op.Linearizable = KindFetch, true
		}
		ps = append(ps, pending{op, effect, apply})
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].effect < ps[j].effect })
	logs := [2][]string{}
	for i := range ps {
		op := &ps[i].op
		log := logs[op.Partition]
		switch op.Kind {
		case KindProduce:
			if ps[i].apply {
				if op.Outcome == OK {
					op.Offsets = []int64{int64(len(log))}
				}
				logs[op.Partition] = append(log, op.Values[0])
			}
		case KindListOffsets:
			op.Offset = int64(len(log))
		case KindFetch:
			op.Offset = int64(rng.Intn(len(log) + 1))
			op.HighWatermark = int64(len(log))
			for o := op.Offset; o < int64(len(log)); o++ {
				op.Records = append(op.Records, Record{Topic: "t", Partition: op.Partition, Offset: o, Value: log[o]})
			}
		}
	}
	ops := make([]Op, len(ps))
	for i := range ps {
		ops[i] = ps[i].op
	}
	if mutate {
		op := &ops[rng.Intn(len(ops))]
		d := int64(1 - 2*rng.Intn(2))
		switch {
		case op.Kind == KindListOffsets:
			op.Offset = max(0, op.Offset+d)
		case op.Kind == KindFetch:
			op.HighWatermark = max(op.Offset, op.HighWatermark+d)
		case op.Kind == KindProduce && op.Outcome == OK:
			op.Offsets[0] = max(0, op.Offsets[0]+d)
		}
	}
	return hist(ops...)
}

// The count of unresolved appends, clipped intervals and segments change
// no verdict: on thousands of small random histories, legal and not, the
// log check agrees with the reference model that makes every
// indeterminate append a porcupine operation.
func TestLogModelAgreesWithReference(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	verdicts := map[porcupine.CheckResult]int{}
	unresolved := 0
	for i := range 3000 {
		h := smallLogHistory(rng, i%2 == 1)
		want := referenceLogCheck(h, 10*time.Second)
		require.NotEqual(t, porcupine.Unknown, want)
		rep, res := CheckLog(h, Options{Timeout: 10 * time.Second})
		if rep.Result != want {
			var sb []byte
			for _, op := range h {
				sb = fmt.Appendf(sb, "%+v\n", op)
			}
			t.Fatalf("history %d: reference %s, log check %s (%v)\n%s", i, want, rep.Result, res, sb)
		}
		verdicts[want]++
		unresolved += res.Unresolved
	}
	t.Logf("verdicts %v, %d unresolved appends", verdicts, unresolved)
	require.Greater(t, verdicts[porcupine.Ok], 500)
	require.Greater(t, verdicts[porcupine.Illegal], 300)
	require.Greater(t, unresolved, 1000)
}

// Interchangeable unresolved appends no longer double the search: 64 of
// them on one partition, overlapping each other and the reads and writes
// around them, check without running out of time (BenchmarkUnresolved
// has the figures).
func TestManyUnresolvedAppendsCheck(t *testing.T) {
	for _, legal := range []bool{true, false} {
		h := unresolvedHistory(64, legal)
		rep, res := CheckLog(h, Options{Timeout: DefaultTimeout})
		require.Equal(t, 64, res.Unresolved)
		if legal {
			require.Equal(t, porcupine.Ok, rep.Result)
		} else {
			require.Equal(t, porcupine.Illegal, rep.Result)
		}
		t.Logf("legal=%v: %s over %d operations in %d segments, %s", legal, rep.Result, rep.Ops, rep.Segments, rep.Elapsed)
	}
}

// unresolvedHistory is what a crash leaves: n produces of 16 clients were
// in flight when it struck, all timed out, and half of them took effect
// (no read found them, and there is no drain); then acknowledged produces
// and latest-offset reads go on, overlapping each other. With legal
// false, a last read reports one less than the log held once every
// acknowledged produce had returned.
func unresolvedHistory(n int, legal bool) History {
	var ops []Op
	for i := range n {
		ops = append(ops, Op{Client: i % 16, Kind: KindProduce, Call: int64(i), Return: 100_000 + int64(i), Outcome: Info, Topic: "t",
			Values: []string{fmt.Sprintf("u%d", i)}, Error: "timeout"})
	}
	end := int64(n / 2)
	t := int64(1000)
	for j := range 32 {
		ops = append(ops, Op{Client: 16 + j%16, Kind: KindProduce, Call: t, Return: t + 30, Outcome: OK, Topic: "t",
			Values: []string{fmt.Sprintf("a%d", j)}, Offsets: []int64{end}})
		end++
		ops = append(ops, Op{Client: 32 + j%16, Kind: KindListOffsets, Call: t + 5, Return: t + 40, Outcome: OK, Topic: "t",
			Spec: SpecLatest, Offset: end, Linearizable: true})
		t += 20
	}
	// A last read once every acknowledged produce returned: the log holds
	// at least end records (more if the other indeterminate ones landed
	// late).
	hw := end
	if !legal {
		hw = end - 1
	}
	ops = append(ops, Op{Client: 48, Kind: KindListOffsets, Call: t + 1000, Return: t + 1010, Outcome: OK, Topic: "t",
		Spec: SpecLatest, Offset: hw, Linearizable: true})
	return hist(ops...)
}
