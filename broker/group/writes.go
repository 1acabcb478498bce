package group

import "time"

// pendingWrite is what to do when a write the machine asked for is done.
type pendingWrite struct {
	kind   writeKind
	waiter Waiter
	// generation and assignment: the leader's SyncGroup.
	generation int32
	assignment map[string][]byte
	static     *staticJoin
	// offsets: the commit's or deletion's records, in record order;
	// index is the position in the request's answer.
	offsets []writtenOffset
	// errs is the answer being built (commit and offset deletion).
	errs []error
}

type writeKind int8

const (
	// writeGroup is a group record nobody waits for (the group became
	// Empty). Kafka only logs a failure: the previous generation in the log
	// would be loaded, and its members' sessions would expire.
	writeGroup writeKind = iota
	writeAssignment
	writeStaticJoin
	writeCommit
	writeOffsetDelete
	writeGroupDelete
)

type writtenOffset struct {
	index  int // in the answer (errs)
	tp     TopicPartition
	offset Offset
	delete bool
}

type staticJoin struct {
	instanceID     string
	oldID, newID   string
	oldProtocols   []Protocol
	oldRebalanceMs int32
	oldSessionMs   int32
	currentLeader  string
	skipAssignment bool
}

// Written reports the outcome of write id: err is nil once its records are
// committed, and base is the offset of its first record in the log.
func (g *Group) Written(now time.Time, id WriteID, base int64, err error) Output {
	g.begin(now)
	pw, ok := g.writes[id]
	if !ok {
		return g.end()
	}
	delete(g.writes, id)
	switch pw.kind {
	case writeAssignment:
		g.assignmentWritten(pw.generation, pw.assignment, err)
	case writeStaticJoin:
		g.staticJoinWritten(pw.waiter, pw.static, err)
	case writeCommit, writeOffsetDelete:
		for i, o := range pw.offsets {
			if err != nil {
				pw.errs[o.index] = err
				continue
			}
			if o.delete {
				g.deleteOffset(o.tp, base+int64(i))
			} else {
				o.offset.record = base + int64(i)
				g.applyOffset(o.tp, o.offset)
			}
		}
		if pw.kind == writeCommit {
			g.reply(Reply{To: pw.waiter, Commit: pw.errs})
		} else if err != nil {
			g.reply(Reply{To: pw.waiter, Err: err})
		} else {
			g.reply(Reply{To: pw.waiter, OffsetDelete: pw.errs})
		}
	case writeGroupDelete:
		if err != nil {
			g.reply(Reply{To: pw.waiter, Err: err})
		} else {
			g.reply(Reply{To: pw.waiter, Deleted: true})
		}
	}
	return g.end()
}

// applyOffset stores a committed offset unless a newer record already set
// the partition's offset: writes of one group complete in log order, but
// this keeps a late completion from ever going back in time.
func (g *Group) applyOffset(tp TopicPartition, o Offset) {
	if have, ok := g.offsets[tp]; ok && have.record > o.record {
		return
	}
	g.offsets[tp] = o
}

func (g *Group) deleteOffset(tp TopicPartition, record int64) {
	if have, ok := g.offsets[tp]; ok && have.record < record {
		delete(g.offsets, tp)
	}
}
