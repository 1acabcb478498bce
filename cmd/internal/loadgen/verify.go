package loadgen

import (
	"fmt"
	"sort"
	"strings"
)

// Anomaly names. They follow Jepsen's Kafka workload where one applies, so
// reports compare with Jepsen's.
const (
	AnomalyCorrupt             = "corrupt"              // a value that does not decode, fails its CRC or names an impossible sequence
	AnomalyDuplicate           = "duplicate"            // one record at two offsets
	AnomalyLost                = "lost-write"           // a produced record never read in a complete drain
	AnomalyOffsetHole          = "offset-hole"          // a gap in a partition's offsets (no transactions here, so offsets are dense)
	AnomalyNonmonotonicOffset  = "nonmonotonic-poll"    // the consumer went back to or repeated an offset
	AnomalyNonmonotonicSend    = "nonmonotonic-send"    // one producer's records to a partition came back out of order
	AnomalyWrongPartition      = "wrong-partition"      // a record read from another partition than it was produced to
	AnomalyInconsistentOffsets = "inconsistent-offsets" // a record read at another partition/offset than its produce acknowledged
	AnomalyUnknownPartition    = "unknown-partition"    // a record from a partition the topic does not have
	AnomalyEndOffsets          = "end-offsets"          // the log end offsets do not add up to the records produced
)

// acks is what the producers were told: the partition and offset of each
// acknowledged record, by sequence number. Offsets are unknown with acks=0.
type acks struct {
	partition []int32
	offset    []int64
	known     bool
}

func newAcks(n int, known bool) *acks {
	a := &acks{partition: make([]int32, n), offset: make([]int64, n), known: known}
	for i := range a.partition {
		a.partition[i] = -1
		a.offset[i] = -1
	}
	return a
}

// verifier checks what one consumer read, from offset 0 of every partition,
// against what was produced. It is not safe for concurrent use.
type verifier struct {
	n, producers int
	partitions   int32
	recordSize   int
	// expectPartition gives the partition a sequence number was sent to,
	// when the partitioner makes that known up front.
	expectPartition func(seq int64) int32

	readPartition []int32
	readOffset    []int64
	next          []int64   // per partition: the offset after the last one read
	lastSeq       [][]int64 // per partition, per producer: the last sequence read
	problems      problems
}

func newVerifier(n, producers int, partitions int32, recordSize int, expectPartition func(int64) int32) *verifier {
	v := &verifier{
		n: n, producers: producers, partitions: partitions, recordSize: recordSize,
		expectPartition: expectPartition,
		readPartition:   make([]int32, n),
		readOffset:      make([]int64, n),
		next:            make([]int64, partitions),
		lastSeq:         make([][]int64, partitions),
	}
	for i := range v.readPartition {
		v.readPartition[i] = -1
		v.readOffset[i] = -1
	}
	for p := range v.lastSeq {
		v.lastSeq[p] = make([]int64, producers)
		for i := range v.lastSeq[p] {
			v.lastSeq[p][i] = -1
		}
	}
	return v
}

// observe checks one record as the consumer delivered it. It returns the
// decoded record and whether it decoded.
func (v *verifier) observe(partition int32, offset int64, value []byte) (record, bool) {
	if partition < 0 || partition >= v.partitions {
		v.problems.add(AnomalyUnknownPartition, "record at partition %d offset %d; the topic has %d partitions", partition, offset, v.partitions)
		return record{}, false
	}
	switch next := v.next[partition]; {
	case offset < next:
		v.problems.add(AnomalyNonmonotonicOffset, "partition %d: read offset %d after offset %d", partition, offset, next-1)
	case offset > next:
		v.problems.add(AnomalyOffsetHole, "partition %d: offsets %d..%d missing (read %d after %d)", partition, next, offset-1, offset, next-1)
	}
	if offset >= v.next[partition] {
		v.next[partition] = offset + 1
	}

	r, err := decode(value, v.recordSize)
	if err == nil && (r.seq < 0 || r.seq >= int64(v.n)) {
		err = fmt.Errorf("sequence %d outside 0..%d", r.seq, v.n-1)
	}
	if err == nil && r.producer != int(r.seq%int64(v.producers)) {
		err = fmt.Errorf("sequence %d says producer %d, want %d", r.seq, r.producer, r.seq%int64(v.producers))
	}
	if err != nil {
		v.problems.add(AnomalyCorrupt, "partition %d offset %d: %v", partition, offset, err)
		return record{}, false
	}

	if p := v.readPartition[r.seq]; p >= 0 {
		v.problems.add(AnomalyDuplicate, "sequence %d at partition %d offset %d and at partition %d offset %d",
			r.seq, p, v.readOffset[r.seq], partition, offset)
	} else {
		v.readPartition[r.seq] = partition
		v.readOffset[r.seq] = offset
	}
	if v.expectPartition != nil {
		if want := v.expectPartition(r.seq); want != partition {
			v.problems.add(AnomalyWrongPartition, "sequence %d produced to partition %d, read from partition %d offset %d", r.seq, want, partition, offset)
		}
	}
	last := &v.lastSeq[partition][r.producer]
	if r.seq <= *last {
		v.problems.add(AnomalyNonmonotonicSend, "partition %d: producer %d's sequence %d at offset %d after its sequence %d",
			partition, r.producer, r.seq, offset, *last)
	} else {
		*last = r.seq
	}
	return r, true
}

// finish checks, after a complete drain up to endOffsets, that every record
// was read and read where its produce said it went. It returns the problems
// found, nil if none.
func (v *verifier) finish(a *acks, endOffsets []int64) *problems {
	var sum int64
	for _, o := range endOffsets {
		sum += o
	}
	if endOffsets != nil && sum != int64(v.n) {
		v.problems.add(AnomalyEndOffsets, "partition end offsets %v add up to %d records, %d were produced", endOffsets, sum, v.n)
	}
	for seq := range v.n {
		p := v.readPartition[seq]
		if p < 0 {
			if a != nil && a.known && a.partition[seq] >= 0 {
				v.problems.add(AnomalyLost, "sequence %d acknowledged at partition %d offset %d, never read", seq, a.partition[seq], a.offset[seq])
			} else {
				v.problems.add(AnomalyLost, "sequence %d never read", seq)
			}
			continue
		}
		if a != nil && a.known && a.partition[seq] >= 0 && (a.partition[seq] != p || a.offset[seq] != v.readOffset[seq]) {
			v.problems.add(AnomalyInconsistentOffsets, "sequence %d acknowledged at partition %d offset %d, read at partition %d offset %d",
				seq, a.partition[seq], a.offset[seq], p, v.readOffset[seq])
		}
	}
	if v.problems.empty() {
		return nil
	}
	return &v.problems
}

// problems counts anomalies by name and keeps the first few examples of each.
type problems struct {
	counts   map[string]int
	examples map[string][]string
}

const examplesPerAnomaly = 5

func (p *problems) add(name, format string, args ...any) {
	if p.counts == nil {
		p.counts = map[string]int{}
		p.examples = map[string][]string{}
	}
	p.counts[name]++
	if len(p.examples[name]) < examplesPerAnomaly {
		p.examples[name] = append(p.examples[name], fmt.Sprintf(format, args...))
	}
}

func (p *problems) empty() bool { return len(p.counts) == 0 }

// Names returns the anomalies found, sorted.
func (p *problems) Names() []string {
	names := make([]string, 0, len(p.counts))
	for n := range p.counts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (p *problems) String() string {
	var b strings.Builder
	for _, n := range p.Names() {
		fmt.Fprintf(&b, "  %s: %d", n, p.counts[n])
		for _, e := range p.examples[n] {
			fmt.Fprintf(&b, "\n    %s", e)
		}
		if more := p.counts[n] - len(p.examples[n]); more > 0 {
			fmt.Fprintf(&b, "\n    ... and %d more", more)
		}
		b.WriteString("\n")
	}
	return b.String()
}
