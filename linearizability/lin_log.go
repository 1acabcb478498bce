package linearizability

import (
	"fmt"

	"github.com/anishathalye/porcupine"
)

// logInput is one operation of the log model of a partition: an append of
// N records, or a linearizable read of the high watermark.
type logInput struct {
	tp     TopicPartition
	read   bool
	values []string // append
	op     int      // history index, -1 for an unrecorded write
}

// logOutput is an append's base offset (Unknown when an indeterminate write
// was never settled) or a read's high watermark.
type logOutput struct {
	offset  int64
	unknown bool
}

// logModel is the sequential specification of one partition as porcupine
// checks it: the state is the log end offset. An append is legal iff its
// base offset is the state (and its values are what reads found there); it
// moves the state by its length. A linearizable read is legal iff it
// reports the state. seen is the static map: reads' values by offset.
func logModel(seen map[TopicPartition]map[int64]string) porcupine.Model {
	return porcupine.Model{
		Partition: partitionBy(func(in any) any { return in.(logInput).tp }),
		Init:      func() any { return int64(0) },
		Step: func(state, input, output any) (bool, any) {
			end := state.(int64)
			in, out := input.(logInput), output.(logOutput)
			if in.read {
				return out.offset == end, end
			}
			if out.unknown {
				return true, end + int64(len(in.values))
			}
			if out.offset != end {
				return false, end
			}
			for i, v := range in.values {
				if s, ok := seen[in.tp][end+int64(i)]; ok && s != v {
					return false, end
				}
			}
			return true, end + int64(len(in.values))
		},
		Hash: func(state any) uint64 { return uint64(state.(int64)) },
		DescribeOperation: func(input, output any) string {
			in, out := input.(logInput), output.(logOutput)
			switch {
			case in.read:
				return fmt.Sprintf("high watermark → %d", out.offset)
			case out.unknown:
				return fmt.Sprintf("append %q → ?", in.values)
			}
			return fmt.Sprintf("append %q → %d", in.values, out.offset)
		},
		DescribeState:             func(state any) string { return fmt.Sprintf("log end %d", state.(int64)) },
		DescribeOperationMetadata: describeOpIndex,
	}
}

// logOperations builds the log model's history: every settled append, every
// acknowledged latest list-offsets, and every linearizable fetch.
func logOperations(h History, appends []logAppend) []porcupine.Operation {
	var ops []porcupine.Operation
	for _, a := range appends {
		ops = append(ops, porcupine.Operation{ClientId: a.client, Call: a.call, Return: a.ret,
			Input:    logInput{tp: a.tp, values: []string{a.value}, op: a.op},
			Output:   logOutput{offset: a.offset, unknown: a.offset < 0},
			Metadata: a.op})
	}
	for i := range h {
		op := &h[i]
		var hw int64
		switch {
		case op.Outcome != OK:
			continue
		case op.Kind == KindListOffsets && op.Spec == SpecLatest:
			hw = op.Offset
		case op.Kind == KindFetch && op.Linearizable:
			hw = op.HighWatermark
		default:
			continue
		}
		ops = append(ops, porcupine.Operation{ClientId: op.Client, Call: op.Call, Return: op.Return,
			Input: logInput{tp: op.tp(), read: true, op: i}, Output: logOutput{offset: hw}, Metadata: i})
	}
	return ops
}

// readValues is the static map the log model holds appends to: the value
// the first read found at each offset.
func readValues(facts map[TopicPartition]*partitionFacts) map[TopicPartition]map[int64]string {
	m := map[TopicPartition]map[int64]string{}
	for tp, f := range facts {
		m[tp] = map[int64]string{}
		for k := range f.firstRead {
			if cur, ok := m[tp][k.offset]; !ok || k.value < cur {
				// Two values at one offset is inconsistent-offsets; pick
				// one deterministically and let the check fail.
				m[tp][k.offset] = k.value
			}
		}
	}
	return m
}

// partitionBy splits a porcupine history by a key of each input, keeping
// the partitions in first-seen order.
func partitionBy(key func(input any) any) func([]porcupine.Operation) [][]porcupine.Operation {
	return func(history []porcupine.Operation) [][]porcupine.Operation {
		index := map[any]int{}
		var parts [][]porcupine.Operation
		for _, op := range history {
			k := key(op.Input)
			i, ok := index[k]
			if !ok {
				i = len(parts)
				index[k] = i
				parts = append(parts, nil)
			}
			parts[i] = append(parts[i], op)
		}
		return parts
	}
}

func describeOpIndex(info any) string {
	if i, ok := info.(int); ok && i >= 0 {
		return fmt.Sprintf("op %d", i)
	}
	return "unrecorded write"
}
