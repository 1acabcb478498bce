package linearizability

import (
	"fmt"

	"github.com/anishathalye/porcupine"
)

// offsetInput is a commit (write) or an offset fetch (read) of one group's
// committed offset for one partition.
type offsetInput struct {
	key   groupKey
	write bool
	value int64 // the offset committed
}

// offsetsModel is a register per (group, partition), starting at -1
// (nothing committed): a commit sets it, a fetch must read it.
func offsetsModel() porcupine.Model {
	return porcupine.Model{
		Partition: partitionBy(func(in any) any { return in.(offsetInput).key }),
		Init:      func() any { return int64(-1) },
		Step: func(state, input, output any) (bool, any) {
			in := input.(offsetInput)
			if in.write {
				return true, in.value
			}
			return output.(int64) == state.(int64), state
		},
		Hash: func(state any) uint64 { return uint64(state.(int64)) },
		DescribeOperation: func(input, output any) string {
			in := input.(offsetInput)
			if in.write {
				return fmt.Sprintf("commit %d", in.value)
			}
			return fmt.Sprintf("fetch → %d", output.(int64))
		},
		DescribeState:             func(state any) string { return fmt.Sprintf("committed %d", state.(int64)) },
		DescribeOperationMetadata: describeOpIndex,
	}
}

// offsetOperations builds the register history: acknowledged commits,
// indeterminate commits (which may take effect at any time after their
// call, so they return never), and acknowledged offset fetches. Definite
// failures did nothing and failed reads saw nothing.
//
// An indeterminate commit of a value no fetch of the register returned is
// left out: it changes no verdict, and each one kept would double
// porcupine's search (it may take effect at any moment). Why: in a legal
// order, the reads between it and the next write (or the end) return its
// value; no read does, so there are none, and taking it out changes what
// no read sees: the order stays legal. And any legal order without it
// stays legal with it added last, where a never-returning operation may
// always go.
func offsetOperations(h History) []porcupine.Operation {
	read := map[groupKey]map[int64]bool{}
	for i := range h {
		op := &h[i]
		if op.Kind == KindFetchOffset && op.Outcome == OK {
			k := groupKey{op.Group, op.tp()}
			if read[k] == nil {
				read[k] = map[int64]bool{}
			}
			read[k][op.Offset] = true
		}
	}
	var ops []porcupine.Operation
	for i := range h {
		op := &h[i]
		if op.Outcome == Fail {
			continue
		}
		key := groupKey{op.Group, op.tp()}
		switch op.Kind {
		case KindCommit:
			if op.Outcome == Info && !read[key][op.Offset] {
				continue
			}
			ret := op.Return
			if op.Outcome == Info {
				ret = never
			}
			ops = append(ops, porcupine.Operation{ClientId: op.Client, Call: op.Call, Return: ret,
				Input: offsetInput{key: key, write: true, value: op.Offset}, Output: int64(0), Metadata: i})
		case KindFetchOffset:
			if op.Outcome != OK {
				continue
			}
			ops = append(ops, porcupine.Operation{ClientId: op.Client, Call: op.Call, Return: op.Return,
				Input: offsetInput{key: key}, Output: op.Offset, Metadata: i})
		}
	}
	return ops
}
