package linearizability

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/ordo-broker/ordo/model"
	"github.com/stretchr/testify/require"
)

// One statement of what Kafka promises: package model is the
// specification (a pure state machine of what a client observes), and
// the checkers are held to it rather than being a second statement:
//   - TestLogModelRefinesTheSpecification and
//     TestOffsetsModelRefinesTheSpecification: porcupine's models are
//     abstractions of model.Cluster (the log end offset of a partition;
//     the committed offset of a group partition). Step by step, on random
//     runs of the specification, the abstract state is the abstraction of
//     the specification's state, every answer the specification gives is
//     legal in porcupine's model, and any other answer is not.
//   - TestSpecificationHistoriesPass: concurrent histories whose every
//     answer is the specification's at the moment the operation took
//     effect (syntheticHistory, with retention resetting consumers) pass
//     both checkers: the static anomalies and the porcupine models reject
//     nothing the specification allows.
// Planted histories (planted_test.go) show the other direction: what the
// specification forbids, they report.

// TestLogModelRefinesTheSpecification drives model.Cluster with random
// produces, latest and earliest offsets, fetches, DeleteRecords and
// compaction on three partitions, and after each step holds porcupine's
// log model to it.
func TestLogModelRefinesTheSpecification(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	c := model.New()
	require.Equal(t, model.None, c.CreateTopic("t", 3))
	m := logModel(nil)
	state := map[int32]logState{}
	compacted := map[int32]bool{}
	abstract := func(p int32) logState {
		end, code := c.ListOffsets("t", p, model.Latest)
		require.Equal(t, model.None, code)
		return logState{end: end}
	}
	step := func(p int32, in logInput, offset int64) (bool, logState) {
		st := state[p]
		if st == (logState{}) {
			st = notStarted
		}
		in.tp, in.init = TopicPartition{"t", p}, logState{}
		ok, next := m.Step(st, in, logOutput{offset: offset})
		return ok, next.(logState)
	}
	for i := range 5000 {
		p := int32(rng.Intn(3))
		switch k := rng.Intn(10); {
		case k < 5:
			// One batch of one to three records: the checkers see one
			// append per record, at consecutive offsets.
			var recs []model.Record
			for j := range 1 + rng.Intn(3) {
				recs = append(recs, model.Record{Key: fmt.Sprintf("k%d", rng.Intn(4)), Value: fmt.Sprintf("v%d-%d", i, j)})
			}
			r := c.Produce(model.ProduceRequest{Topic: "t", Partition: p, Records: recs, ProducerID: -1})
			require.Equal(t, model.None, r.Err)
			for j, rec := range recs {
				in := logInput{values: []string{rec.Value}}
				for _, wrong := range []int64{r.BaseOffset + int64(j) - 1, r.BaseOffset + int64(j) + 1} {
					ok, _ := step(p, in, wrong)
					require.False(t, ok, "an append at %d where the specification put it at %d", wrong, r.BaseOffset+int64(j))
				}
				ok, next := step(p, in, r.BaseOffset+int64(j))
				require.True(t, ok, "the specification's offset %d", r.BaseOffset+int64(j))
				state[p] = next
			}
		case k < 7:
			hw, _ := c.ListOffsets("t", p, model.Latest)
			for _, wrong := range []int64{hw - 1, hw + 1} {
				ok, _ := step(p, logInput{read: true}, wrong)
				require.False(t, ok, "latest offset %d where the specification says %d", wrong, hw)
			}
			ok, next := step(p, logInput{read: true}, hw)
			require.True(t, ok)
			require.Equal(t, state[p], next, "a read changes nothing")
		case k < 8:
			start, _ := c.ListOffsets("t", p, model.Earliest)
			from := start + int64(rng.Intn(3))
			r := c.Fetch(model.FetchRequest{Topic: "t", Partition: p, Offset: from})
			if r.Err != model.None {
				continue
			}
			ok, _ := step(p, logInput{read: true}, r.HighWatermark)
			require.True(t, ok, "a fetch's high watermark is the log end")
			// What the static checker demands of a fetch holds of the
			// specification's: nothing at or above the high watermark,
			// and something below it unless compaction emptied the range.
			op := Op{Kind: KindFetch, Outcome: OK, Topic: "t", Partition: p, Offset: from, HighWatermark: r.HighWatermark, LogStartOffset: r.LogStartOffset}
			for _, rec := range r.Records {
				op.Records = append(op.Records, Record{Topic: "t", Partition: p, Offset: rec.Offset, Value: rec.Value})
			}
			require.Empty(t, fetchBounds(History{op}, func(string) bool { return compacted[p] }), "%+v", op)
		case k < 9:
			hw, _ := c.ListOffsets("t", p, model.Latest)
			_, code := c.DeleteRecords("t", p, max(0, hw-int64(rng.Intn(5))))
			require.Equal(t, model.None, code)
		default:
			hw, _ := c.ListOffsets("t", p, model.Latest)
			require.Equal(t, model.None, c.Compact("t", p, hw, rng.Intn(2) == 0))
			compacted[p] = true
		}
		if st, ok := state[p]; ok {
			require.Equal(t, abstract(p), logState{end: st.end}, "step %d: porcupine's state is the specification's log end", i)
			require.Zero(t, st.used)
		}
	}
}

// TestOffsetsModelRefinesTheSpecification: porcupine's committed-offset
// register against model.Cluster's CommitOffset and FetchOffset.
func TestOffsetsModelRefinesTheSpecification(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	c := model.New()
	require.Equal(t, model.None, c.CreateTopic("t", 2))
	m := offsetsModel()
	state := map[groupKey]any{}
	for range 3000 {
		k := groupKey{fmt.Sprintf("g%d", rng.Intn(2)), TopicPartition{"t", int32(rng.Intn(2))}}
		if state[k] == nil {
			state[k] = m.Init()
		}
		if rng.Intn(2) == 0 {
			v := int64(rng.Intn(10))
			require.Equal(t, model.None, c.CommitOffset(k.group, "t", k.tp.Partition, v))
			ok, next := m.Step(state[k], offsetInput{key: k, write: true, value: v}, int64(0))
			require.True(t, ok)
			state[k] = next
		}
		v, code := c.FetchOffset(k.group, "t", k.tp.Partition)
		require.Equal(t, model.None, code)
		ok, _ := m.Step(state[k], offsetInput{key: k}, v)
		require.True(t, ok, "the specification's committed offset %d", v)
		ok, _ = m.Step(state[k], offsetInput{key: k}, v+1)
		require.False(t, ok)
		require.Equal(t, v, state[k], "porcupine's register is the specification's committed offset")
	}
}

// TestSpecificationHistoriesPass: histories of the specification's
// answers, with overlapping calls, indeterminate produces and retention,
// pass both checkers, whatever the seed.
func TestSpecificationHistoriesPass(t *testing.T) {
	seed := time.Now().UnixNano()
	for i := range int64(20) {
		h := syntheticHistory(t, seed+i, 3000, 3, 8)
		rep := Check(h, Options{})
		if !rep.OK() {
			var sb []byte
			for j, a := range rep.Static.Anomalies {
				if j < 10 {
					sb = fmt.Appendf(sb, "%s\n", a)
				}
			}
			t.Fatalf("seed %d: %s (static %v, log %s %v, offsets %s, invalid %v)\n%s", seed+i, rep.Verdict(),
				rep.Static.Counts, rep.Log.Result, rep.Log.Illegal, rep.Offsets.Result, rep.Invalid, sb)
		}
	}
}
