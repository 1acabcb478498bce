package linearizability

import (
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

// Small constructors for hand-written histories. Every op is on topic "t";
// times are whatever the test says; hist assigns indexes.

func hist(ops ...Op) History {
	h := make(History, len(ops))
	for i, op := range ops {
		op.Index = i
		h[i] = op
	}
	return h
}

func rec(p int32, off int64, v string) Record {
	return Record{Topic: "t", Partition: p, Offset: off, Value: v}
}

func prod(client int, p int32, call, ret int64, v string, off int64) Op {
	return Op{Client: client, Kind: KindProduce, Call: call, Return: ret, Outcome: OK, Topic: "t", Partition: p,
		Values: []string{v}, Offsets: []int64{off}}
}

func prodOutcome(client int, p int32, call, ret int64, v string, outcome Outcome) Op {
	return Op{Client: client, Kind: KindProduce, Call: call, Return: ret, Outcome: outcome, Topic: "t", Partition: p,
		Values: []string{v}, Error: "planted"}
}

func poll(client int, call, ret int64, recs ...Record) Op {
	return Op{Client: client, Kind: KindPoll, Call: call, Return: ret, Outcome: OK, Records: recs}
}

func fetch(client int, p int32, offset int64, call, ret int64, hw int64, recs ...Record) Op {
	return Op{Client: client, Kind: KindFetch, Call: call, Return: ret, Outcome: OK, Topic: "t", Partition: p,
		Offset: offset, HighWatermark: hw, Linearizable: true, Records: recs}
}

func latest(client int, p int32, call, ret int64, hw int64) Op {
	return Op{Client: client, Kind: KindListOffsets, Call: call, Return: ret, Outcome: OK, Topic: "t", Partition: p,
		Spec: SpecLatest, Offset: hw, Linearizable: true}
}

func seek(client int, p int32, at int64, offset int64) Op {
	return Op{Client: client, Kind: KindSeek, Call: at, Return: at, Outcome: OK, Topic: "t", Partition: p, Offset: offset}
}

// drained is a complete final drain of partition p: one drain fetch of recs
// from logStart, and the drain op.
func drained(client int, p int32, at int64, logStart, hw int64, recs ...Record) []Op {
	f := fetch(client, p, logStart, at, at+1, hw, recs...)
	f.Drain, f.LogStartOffset = true, logStart
	return []Op{f, {Client: client, Kind: KindDrain, Call: at, Return: at + 2, Outcome: OK, Topic: "t", Partition: p,
		LogStartOffset: logStart, HighWatermark: hw, Complete: true}}
}

func commit(client int, call, ret int64, offset int64, outcome Outcome) Op {
	return Op{Client: client, Kind: KindCommit, Call: call, Return: ret, Outcome: outcome, Group: "g", Topic: "t", Offset: offset}
}

func fetchOffset(client int, call, ret int64, offset int64) Op {
	return Op{Client: client, Kind: KindFetchOffset, Call: call, Return: ret, Outcome: OK, Group: "g", Topic: "t", Offset: offset}
}

func cat(parts ...any) []Op {
	var out []Op
	for _, p := range parts {
		switch v := p.(type) {
		case Op:
			out = append(out, v)
		case []Op:
			out = append(out, v...)
		}
	}
	return out
}

// names lists the distinct anomaly names of a report, sorted.
func names(as []Anomaly) []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range as {
		if !seen[a.Name] {
			seen[a.Name] = true
			out = append(out, a.Name)
		}
	}
	sort.Strings(out)
	return out
}

func requireValid(t *testing.T, h History) {
	t.Helper()
	require.NoError(t, h.Validate())
}
