package linearizability

import (
	"fmt"
	"math/rand"
	"sort"
	"testing"
)

// syntheticHistory simulates a correct cluster: clients call one operation
// at a time with overlapping intervals, each operation takes effect at a
// random moment inside its interval, and results come from the log at that
// moment. Clients produce (a few percent indeterminate: applied or not),
// read latest offsets, fetch linearizably and poll as consumers; a final
// drain reads every partition. n is the number of operations before the
// drain.
// synthSpread bounds how long an operation takes before and after its effect.
const synthSpread = 200

func syntheticHistory(t testing.TB, seed int64, n, partitions, clients int) History {
	t.Logf("synthetic history seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	type pending struct {
		op     Op
		effect int64 // when it takes effect
		apply  bool  // an indeterminate produce that did happen
	}
	var ps []pending
	next := make([]int64, clients)
	for i := 0; len(ps) < n; i++ {
		c := i % clients
		call := next[c] + int64(rng.Intn(50))
		effect := call + 1 + int64(rng.Intn(synthSpread))
		ret := effect + 1 + int64(rng.Intn(synthSpread))
		next[c] = ret + 1
		p := int32(rng.Intn(partitions))
		op := Op{Client: c, Call: call, Return: ret, Outcome: OK, Topic: "t", Partition: p}
		apply := true
		switch k := rng.Intn(100); {
		case c >= clients-2 && k < 50: // consumers poll, commit and read their commits
			op.Kind = KindPoll
		case c >= clients-2 && k < 80:
			op.Kind, op.Group = KindCommit, fmt.Sprintf("g%d", c)
		case c >= clients-2:
			op.Kind, op.Group = KindFetchOffset, fmt.Sprintf("g%d", c)
		case k < 60:
			op.Kind = KindProduce
			op.Values = []string{fmt.Sprintf("c%d-%d", c, i)}
			if rng.Intn(100) < 3 {
				op.Outcome = Info
				apply = rng.Intn(2) == 0
			}
		case k < 85:
			op.Kind, op.Spec, op.Linearizable = KindListOffsets, SpecLatest, true
		default:
			op.Kind, op.Linearizable = KindFetch, true
		}
		ps = append(ps, pending{op, effect, apply})
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].effect < ps[j].effect })

	logs := make([][]string, partitions)
	pos := map[int][]int64{} // consumer → position per partition
	committed := map[string]int64{}
	for i := range ps {
		op := &ps[i].op
		log := logs[op.Partition]
		if pos[op.Client] == nil {
			pos[op.Client] = make([]int64, partitions)
		}
		key := fmt.Sprintf("%s/%d", op.Group, op.Partition)
		switch op.Kind {
		case KindCommit:
			op.Offset = pos[op.Client][op.Partition]
			committed[key] = op.Offset
		case KindFetchOffset:
			op.Offset = -1
			if v, ok := committed[key]; ok {
				op.Offset = v
			}
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
			for o := op.Offset; o < int64(len(log)) && o < op.Offset+5; o++ {
				op.Records = append(op.Records, Record{Topic: "t", Partition: op.Partition, Offset: o, Value: log[o]})
			}
		case KindPoll:
			for p := range partitions {
				for o := pos[op.Client][p]; o < int64(len(logs[p])) && o < pos[op.Client][p]+3; o++ {
					op.Records = append(op.Records, Record{Topic: "t", Partition: int32(p), Offset: o, Value: logs[p][o]})
				}
				pos[op.Client][p] += int64(min(3, len(logs[p])-int(pos[op.Client][p])))
				op.Fetched = append(op.Fetched, Fetched{Topic: "t", Partition: int32(p), HighWatermark: int64(len(logs[p]))})
			}
			op.Topic, op.Partition = "", 0
		}
	}
	var ops []Op
	var end int64
	for c := 0; c < clients; c++ {
		if c >= clients-2 {
			for p := range partitions {
				ops = append(ops, Op{Client: c, Kind: KindSeek, Outcome: OK, Topic: "t", Partition: int32(p)})
			}
		}
	}
	for _, p := range ps {
		ops = append(ops, p.op)
		end = max(end, p.op.Return)
	}
	// The final drain, once everyone stopped.
	drainer := clients - 1
	for p := range partitions {
		at := end + 10 + int64(p)*10
		f := Op{Client: drainer, Kind: KindFetch, Call: at, Return: at + 1, Outcome: OK, Topic: "t", Partition: int32(p),
			HighWatermark: int64(len(logs[p])), Linearizable: true, Drain: true}
		for o, v := range logs[p] {
			f.Records = append(f.Records, Record{Topic: "t", Partition: int32(p), Offset: int64(o), Value: v})
		}
		ops = append(ops, f, Op{Client: drainer, Kind: KindDrain, Call: at, Return: at + 2, Outcome: OK, Topic: "t",
			Partition: int32(p), HighWatermark: int64(len(logs[p])), Complete: true})
	}
	return hist(ops...)
}
