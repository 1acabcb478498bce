package linearizability

import (
	"fmt"
	"math/rand"
	"sort"
	"testing"

	"github.com/ordo-broker/ordo/model"
)

// syntheticHistory simulates a correct cluster with package model, the
// specification of what a client may observe: clients call one operation
// at a time with overlapping intervals, each operation takes effect on a
// model.Cluster at a random moment inside its interval, and its answer is
// the model's at that moment. Clients produce (a few percent
// indeterminate: applied or not), read latest and earliest offsets, fetch
// linearizably, poll as consumers (a consumer whose position fell below
// the log start is reset to it, as kgo does on OFFSET_OUT_OF_RANGE),
// commit their positions and read them back; now and then retention
// deletes a prefix of a partition (DeleteRecords, drawn as a fault). A
// final drain reads every partition. n is the number of operations before
// the drain. Every history it makes must pass both checkers: that is how
// the checkers are held to the specification.
// synthSpread bounds how long an operation takes before and after its effect.
const synthSpread = 200

func syntheticHistory(t testing.TB, seed int64, n, partitions, clients int) History {
	t.Logf("synthetic history seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	type pending struct {
		op     Op
		effect int64 // when it takes effect
		apply  bool  // an indeterminate produce that did happen
		delete int64 // a retention fault: the records it keeps
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
		var keep int64
		switch k := rng.Intn(1000); {
		case c >= clients-2 && k < 500: // consumers poll, commit and read their commits
			op.Kind = KindPoll
		case c >= clients-2 && k < 800:
			op.Kind, op.Group = KindCommit, fmt.Sprintf("g%d", c)
		case c >= clients-2:
			op.Kind, op.Group = KindFetchOffset, fmt.Sprintf("g%d", c)
		case k < 3:
			// Retention: a fault of its own client, keeping the last
			// few records.
			op.Client, op.Kind, op.Description = clients, KindFault, fmt.Sprintf("DeleteRecords on t/%d", p)
			keep = int64(rng.Intn(20))
		case k < 600:
			op.Kind = KindProduce
			op.Values = []string{fmt.Sprintf("c%d-%d", c, i)}
			if rng.Intn(100) < 3 {
				op.Outcome = Info
				apply = rng.Intn(2) == 0
			}
		case k < 800:
			op.Kind, op.Spec, op.Linearizable = KindListOffsets, SpecLatest, true
		case k < 850:
			op.Kind, op.Spec = KindListOffsets, SpecEarliest
		default:
			op.Kind, op.Linearizable = KindFetch, true
		}
		ps = append(ps, pending{op, effect, apply, keep})
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].effect < ps[j].effect })

	cluster := model.New()
	if code := cluster.CreateTopic("t", int32(partitions)); code != model.None {
		t.Fatalf("create topic: %s", code)
	}
	records := func(rs []model.Record, p int32) []Record {
		if len(rs) == 0 {
			return nil
		}
		out := make([]Record, len(rs))
		for i, r := range rs {
			out[i] = Record{Topic: "t", Partition: p, Offset: r.Offset, Value: r.Value}
		}
		return out
	}
	pos := map[int][]int64{} // consumer → position per partition
	for i := range ps {
		op := &ps[i].op
		if pos[op.Client] == nil {
			pos[op.Client] = make([]int64, partitions)
		}
		switch op.Kind {
		case KindFault:
			hw, _ := cluster.ListOffsets("t", op.Partition, model.Latest)
			_, _ = cluster.DeleteRecords("t", op.Partition, max(0, hw-ps[i].delete))
		case KindCommit:
			op.Offset = pos[op.Client][op.Partition]
			cluster.CommitOffset(op.Group, "t", op.Partition, op.Offset)
		case KindFetchOffset:
			op.Offset, _ = cluster.FetchOffset(op.Group, "t", op.Partition)
		case KindProduce:
			if ps[i].apply {
				r := cluster.Produce(model.ProduceRequest{Topic: "t", Partition: op.Partition, ProducerID: -1,
					Records: []model.Record{{Value: op.Values[0]}}})
				if op.Outcome == OK {
					op.Offsets = []int64{r.BaseOffset}
				}
			}
		case KindListOffsets:
			spec := model.Latest
			if op.Spec == SpecEarliest {
				spec = model.Earliest
			}
			op.Offset, _ = cluster.ListOffsets("t", op.Partition, spec)
		case KindFetch:
			start, _ := cluster.ListOffsets("t", op.Partition, model.Earliest)
			hw, _ := cluster.ListOffsets("t", op.Partition, model.Latest)
			op.Offset = start + int64(rng.Intn(int(hw-start)+1))
			r := cluster.Fetch(model.FetchRequest{Topic: "t", Partition: op.Partition, Offset: op.Offset, MaxRecords: 5})
			op.HighWatermark, op.LogStartOffset = r.HighWatermark, r.LogStartOffset
			op.Records = records(r.Records, op.Partition)
		case KindPoll:
			for p := range int32(partitions) {
				r := cluster.Fetch(model.FetchRequest{Topic: "t", Partition: p, Offset: pos[op.Client][p], MaxRecords: 3})
				if r.Err == model.OffsetOutOfRange {
					// Reset to the earliest offset, as kgo does.
					pos[op.Client][p], _ = cluster.ListOffsets("t", p, model.Earliest)
					r = cluster.Fetch(model.FetchRequest{Topic: "t", Partition: p, Offset: pos[op.Client][p], MaxRecords: 3})
				}
				op.Records = append(op.Records, records(r.Records, p)...)
				if len(r.Records) > 0 {
					pos[op.Client][p] = r.Records[len(r.Records)-1].Offset + 1
				}
				op.Fetched = append(op.Fetched, Fetched{Topic: "t", Partition: p, HighWatermark: r.HighWatermark, LogStartOffset: r.LogStartOffset})
			}
			op.Topic, op.Partition = "", 0
		}
	}
	ops := []Op{Declaration(fmt.Sprintf("synthetic seed %d", seed))}
	var end int64
	for c := clients - 2; c < clients; c++ {
		for p := range partitions {
			ops = append(ops, Op{Client: c, Kind: KindSeek, Outcome: OK, Topic: "t", Partition: int32(p)})
		}
	}
	for _, p := range ps {
		ops = append(ops, p.op)
		end = max(end, p.op.Return)
	}
	// The final drain, once everyone stopped.
	drainer := clients - 1
	for p := range int32(partitions) {
		at := end + 10 + int64(p)*10
		start, _ := cluster.ListOffsets("t", p, model.Earliest)
		r := cluster.Fetch(model.FetchRequest{Topic: "t", Partition: p, Offset: start})
		ops = append(ops, Op{Client: drainer, Kind: KindFetch, Call: at, Return: at + 1, Outcome: OK, Topic: "t", Partition: p,
			Offset: start, HighWatermark: r.HighWatermark, LogStartOffset: r.LogStartOffset, Linearizable: true, Drain: true,
			Records: records(r.Records, p)},
			Op{Client: drainer, Kind: KindDrain, Call: at, Return: at + 2, Outcome: OK, Topic: "t",
				Partition: p, LogStartOffset: start, HighWatermark: r.HighWatermark, Complete: true})
	}
	return hist(ops...)
}
