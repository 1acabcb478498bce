package topicconfig

import (
	"maps"
	"slices"
	"strings"
)

// IncrementalAlterConfigs operations (KIP-339; kmsg.IncrementalAlterConfigOp).
const (
	OpSet      int8 = 0
	OpDelete   int8 = 1
	OpAppend   int8 = 2
	OpSubtract int8 = 3
)

var opNames = map[int8]string{OpSet: "SET", OpDelete: "DELETE", OpAppend: "APPEND", OpSubtract: "SUBTRACT"}

// AlterOp is one IncrementalAlterConfigs operation on a config. Value is
// ignored by OpDelete and required by the others.
type AlterOp struct {
	Name  string
	Op    int8
	Value *string
}

// ApplyIncremental applies one IncrementalAlterConfigs resource's operations
// (KIP-339) to a topic's current overrides and returns the new overrides, a
// copy: current is not modified. It does not validate the result: the caller
// passes it to Build before storing it, which is where unknown names and bad
// values are refused.
//
// The operations, as in Kafka:
//   - OpSet overrides the config with Value.
//   - OpDelete removes the override, so the default applies again. Deleting
//     a config that is not overridden, or that Ordo does not know, is not an
//     error: there is nothing to remove.
//   - OpAppend adds each comma-separated element of Value that is not
//     already there to a LIST config (cleanup.policy), starting from the
//     default when the config is not overridden.
//   - OpSubtract removes each comma-separated element of Value from a LIST
//     config, starting from the default likewise. Removing every element
//     leaves an empty override, which Kafka 4.x accepts.
//
// Errors are *Error. Like Kafka, it answers INVALID_REQUEST (ErrInvalidRequest)
// for a malformed resource: a config named twice, a null Value for an
// operation that needs one, an unknown operation; and INVALID_CONFIG
// (ErrInvalidConfig) for APPEND or SUBTRACT on a config whose type is not
// LIST. The first error fails the whole resource, so nothing is applied.
func ApplyIncremental(current map[string]string, ops []AlterOp) (map[string]string, error) {
	seen := make(map[string]bool, len(ops))
	var nulls []string
	for _, op := range ops {
		if seen[op.Name] {
			return nil, requestErr(op.Name, "Error due to duplicate config keys")
		}
		seen[op.Name] = true
		if _, ok := opNames[op.Op]; !ok {
			return nil, requestErr(op.Name, "Unknown alter configs operation type %d for config %s", op.Op, op.Name)
		}
		if op.Op != OpDelete && op.Value == nil {
			nulls = append(nulls, op.Name)
		}
	}
	if len(nulls) > 0 {
		return nil, requestErr(nulls[0], "Null value not supported for : %s", strings.Join(nulls, ", "))
	}

	out := maps.Clone(current)
	if out == nil {
		out = map[string]string{}
	}
	for _, op := range ops {
		switch op.Op {
		case OpSet:
			out[op.Name] = *op.Value
		case OpDelete:
			delete(out, op.Name)
		case OpAppend, OpSubtract:
			s, known := specByName[op.Name]
			if !known || s.typ != TypeList {
				return nil, configErr(op.Name, "Can't %s to key %s because its type is not LIST.", opNames[op.Op], op.Name)
			}
			old, ok := out[op.Name]
			if !ok {
				old = s.def
			}
			parts := listParts(old)
			for _, v := range listParts(*op.Value) {
				if op.Op == OpAppend {
					if !slices.Contains(parts, v) {
						parts = append(parts, v)
					}
				} else {
					parts = slices.DeleteFunc(parts, func(p string) bool { return p == v })
				}
			}
			out[op.Name] = strings.Join(parts, ",")
		}
	}
	return out, nil
}

// listParts splits a LIST value at commas, trimming elements and dropping
// empty ones. (Kafka drops empty elements of the current value but not of
// the operation's, and trims neither; trimming both makes "compact, delete"
// mean what its author meant instead of failing validation later.)
func listParts(v string) []string {
	var parts []string
	for _, p := range strings.Split(v, ",") {
		if p = javaTrim(p); p != "" {
			parts = append(parts, p)
		}
	}
	return parts
}
