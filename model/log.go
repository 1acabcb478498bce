package model

import "sort"

// partitionLog is one partition: records in offset order from logStart to
// the log end offset, dense unless Compact removed some, and the producer
// state that guards idempotent appends.
type partitionLog struct {
	logStart  int64
	end       int64    // the log end offset
	records   []Record // by offset; records[i] is at offset logStart+i until a compaction
	producers map[int64]*producerEntry
}

func newPartitionLog() *partitionLog {
	return &partitionLog{producers: map[int64]*producerEntry{}}
}

func (p *partitionLog) clone() *partitionLog {
	n := &partitionLog{
		logStart:  p.logStart,
		end:       p.end,
		records:   append([]Record(nil), p.records...),
		producers: make(map[int64]*producerEntry, len(p.producers)),
	}
	for id, e := range p.producers {
		n.producers[id] = e.clone()
	}
	return n
}

// logEnd is the log end offset: the offset the next record gets.
func (p *partitionLog) logEnd() int64 { return p.end }

// index is the position in records of the first record at or after offset.
func (p *partitionLog) index(offset int64) int {
	return sort.Search(len(p.records), func(i int) bool { return p.records[i].Offset >= offset })
}

// highWatermark is the first offset not yet committed. One node commits what
// it appends, so it is the log end offset.
func (p *partitionLog) highWatermark() int64 { return p.logEnd() }

// append writes records at the log end and returns the base offset.
func (p *partitionLog) append(records []Record) int64 {
	base := p.logEnd()
	for i, r := range records {
		p.records = append(p.records, Record{Offset: base + int64(i), Key: r.Key, Value: r.Value, Tombstone: r.Tombstone})
	}
	p.end = base + int64(len(records))
	return base
}

// ProduceRequest appends one batch to one partition.
type ProduceRequest struct {
	Topic     string
	Partition int32
	Records   []Record // Offset is ignored: the log assigns offsets
	// ProducerID is -1 for a producer without idempotence; otherwise
	// ProducerEpoch and BaseSequence place the batch in the producer's
	// sequence (the batch holds sequences BaseSequence..+len(Records)-1).
	ProducerID    int64
	ProducerEpoch int16
	BaseSequence  int32
}

// ProduceResponse is the answer to a produce. On error BaseOffset is -1.
type ProduceResponse struct {
	BaseOffset     int64
	LogStartOffset int64
	Err            ErrorCode
}

// Produce appends a batch atomically: its records get consecutive offsets
// starting at the log end. An idempotent producer's retry of one of its last
// five batches is answered with the original base offset and appends nothing.
func (c *Cluster) Produce(req ProduceRequest) ProduceResponse {
	fail := func(code ErrorCode) ProduceResponse {
		return ProduceResponse{BaseOffset: -1, LogStartOffset: -1, Err: code}
	}
	p := c.partition(req.Topic, req.Partition)
	if p == nil {
		return fail(UnknownTopicOrPartition)
	}
	if len(req.Records) == 0 {
		return fail(InvalidRecord)
	}
	if req.ProducerID < 0 {
		return ProduceResponse{BaseOffset: p.append(req.Records), LogStartOffset: p.logStart}
	}
	base, dup, code := p.checkSequence(req.ProducerID, req.ProducerEpoch, req.BaseSequence, len(req.Records))
	if code != None {
		return fail(code)
	}
	if !dup {
		base = p.append(req.Records)
		p.recordBatch(req.ProducerID, req.ProducerEpoch, req.BaseSequence, len(req.Records), base)
	}
	return ProduceResponse{BaseOffset: base, LogStartOffset: p.logStart}
}

// FetchRequest reads from one partition.
type FetchRequest struct {
	Topic      string
	Partition  int32
	Offset     int64
	MaxRecords int // 0 or less: everything up to the high watermark
}

// FetchResponse is the answer to a fetch. On error the offsets are -1 and
// there are no records, as in Kafka's fetch response.
type FetchResponse struct {
	Records        []Record
	HighWatermark  int64
	LogStartOffset int64
	Err            ErrorCode
}

// Fetch returns committed records from Offset on. Offset equal to the high
// watermark is a valid, empty read (a consumer that is caught up); below the
// log start or above the high watermark it is OFFSET_OUT_OF_RANGE.
func (c *Cluster) Fetch(req FetchRequest) FetchResponse {
	fail := func(code ErrorCode) FetchResponse {
		return FetchResponse{HighWatermark: -1, LogStartOffset: -1, Err: code}
	}
	p := c.partition(req.Topic, req.Partition)
	if p == nil {
		return fail(UnknownTopicOrPartition)
	}
	hw := p.highWatermark()
	if req.Offset < p.logStart || req.Offset > hw {
		return fail(OffsetOutOfRange)
	}
	from, to := p.index(req.Offset), p.index(hw)
	if req.MaxRecords > 0 && to-from > req.MaxRecords {
		to = from + req.MaxRecords
	}
	var records []Record
	if to > from {
		records = append(records, p.records[from:to]...)
	}
	return FetchResponse{Records: records, HighWatermark: hw, LogStartOffset: p.logStart}
}

// OffsetSpec is what ListOffsets looks up.
type OffsetSpec int8

// The offsets ListOffsets answers, with Kafka's timestamp codes.
const (
	Latest   OffsetSpec = -1 // the high watermark
	Earliest OffsetSpec = -2 // the log start offset
)

func (s OffsetSpec) String() string {
	switch s {
	case Latest:
		return "latest"
	case Earliest:
		return "earliest"
	}
	return "unknown"
}

// ListOffsets answers the high watermark (Latest) or the log start offset
// (Earliest) of a partition; -1 with the error otherwise.
func (c *Cluster) ListOffsets(topic string, partition int32, spec OffsetSpec) (int64, ErrorCode) {
	p := c.partition(topic, partition)
	if p == nil {
		return -1, UnknownTopicOrPartition
	}
	switch spec {
	case Latest:
		return p.highWatermark(), None
	case Earliest:
		return p.logStart, None
	}
	return -1, OffsetOutOfRange
}

// DeleteRecords moves the log start offset up to before (-1: the high
// watermark) and answers the new low watermark. Records below it are gone;
// a before below the current log start changes nothing, and one above the
// high watermark is OFFSET_OUT_OF_RANGE.
func (c *Cluster) DeleteRecords(topic string, partition int32, before int64) (int64, ErrorCode) {
	p := c.partition(topic, partition)
	if p == nil {
		return -1, UnknownTopicOrPartition
	}
	hw := p.highWatermark()
	if before == -1 {
		before = hw
	}
	if before < 0 || before > hw {
		return -1, OffsetOutOfRange
	}
	if before > p.logStart {
		p.records = append([]Record(nil), p.records[p.index(before):]...)
		p.logStart = before
	}
	return p.logStart, None
}
