package model

import "math"

// batchesRetained is how many of a producer's latest batches a partition
// remembers for deduplication: Kafka's NUM_BATCHES_TO_RETAIN, which is why
// an idempotent producer may have at most 5 requests in flight.
const batchesRetained = 5

// ProducerIdentity is what InitProducerID hands out.
type ProducerIdentity struct {
	ID    int64
	Epoch int16
}

// InitProducerID gives a producer its identity, with the broker's rules
// (broker/producerid): with id -1 it allocates a new producer id at epoch 0.
// With an id it knows and that id's current epoch it bumps the epoch
// (KIP-360: an idempotent producer resets its sequences this way after an
// error); asked again with the previous epoch (a retried bump) it answers
// the current one; an epoch about to overflow gets a fresh id instead, as
// Kafka does. Any other epoch of a known id is INVALID_PRODUCER_EPOCH. An id
// it does not know gets a new id at epoch 0: Kafka ignores the id of a
// producer without a transactional id.
func (c *Cluster) InitProducerID(id int64, epoch int16) (ProducerIdentity, ErrorCode) {
	if id == -1 {
		return c.newProducer(), None
	}
	current, ok := c.producerEpochs[id]
	if !ok {
		return c.newProducer(), None
	}
	switch {
	case epoch == current-1 && current > 0:
		return ProducerIdentity{ID: id, Epoch: current}, None
	case epoch != current:
		return ProducerIdentity{ID: -1, Epoch: -1}, InvalidProducerEpoch
	case current == math.MaxInt16:
		return c.newProducer(), None
	}
	c.producerEpochs[id] = current + 1
	return ProducerIdentity{ID: id, Epoch: current + 1}, None
}

func (c *Cluster) newProducer() ProducerIdentity {
	id := c.nextProducerID
	c.nextProducerID++
	c.producerEpochs[id] = 0
	return ProducerIdentity{ID: id, Epoch: 0}
}

// producerEntry is what a partition remembers of one producer: its epoch and
// its latest batches, oldest first.
type producerEntry struct {
	epoch   int16
	batches []batchMetadata
}

type batchMetadata struct {
	firstSeq, lastSeq int32
	baseOffset        int64
}

func (e *producerEntry) clone() *producerEntry {
	return &producerEntry{epoch: e.epoch, batches: append([]batchMetadata(nil), e.batches...)}
}

// checkSequence decides an idempotent batch, in Kafka's order: a retry of a
// retained batch is a duplicate (answered with its original base offset); an
// older epoch is fenced; a newer epoch starts over at sequence 0; otherwise
// the batch must follow the last one exactly.
func (p *partitionLog) checkSequence(id int64, epoch int16, firstSeq int32, count int) (base int64, duplicate bool, code ErrorCode) {
	if epoch < 0 {
		return -1, false, InvalidProducerEpoch
	}
	if firstSeq < 0 {
		return -1, false, OutOfOrderSequenceNumber
	}
	lastSeq := addSequence(firstSeq, count-1)
	e, ok := p.producers[id]
	switch {
	case !ok:
		// A producer the partition has no state for must start at
		// sequence 0, as in Kafka before 2.5 and in the broker (see
		// broker/partition/producerstate.go for why).
		if firstSeq != 0 {
			return -1, false, UnknownProducerID
		}
		return -1, false, None
	case epoch > e.epoch:
		if firstSeq != 0 {
			return -1, false, OutOfOrderSequenceNumber
		}
		return -1, false, None
	case epoch < e.epoch:
		return -1, false, InvalidProducerEpoch
	}
	for _, b := range e.batches {
		if b.firstSeq == firstSeq && b.lastSeq == lastSeq {
			return b.baseOffset, true, None
		}
	}
	if len(e.batches) == 0 || firstSeq != addSequence(e.batches[len(e.batches)-1].lastSeq, 1) {
		return -1, false, OutOfOrderSequenceNumber
	}
	return -1, false, None
}

// recordBatch remembers an appended batch, starting a new entry on a new
// epoch and forgetting batches beyond the window.
func (p *partitionLog) recordBatch(id int64, epoch int16, firstSeq int32, count int, base int64) {
	e, ok := p.producers[id]
	if !ok || e.epoch != epoch {
		e = &producerEntry{epoch: epoch}
		p.producers[id] = e
	}
	e.batches = append(e.batches, batchMetadata{firstSeq: firstSeq, lastSeq: addSequence(firstSeq, count-1), baseOffset: base})
	if len(e.batches) > batchesRetained {
		e.batches = append([]batchMetadata(nil), e.batches[len(e.batches)-batchesRetained:]...)
	}
}

// addSequence adds n to a sequence number, wrapping past MaxInt32 to 0 as
// Kafka's DefaultRecordBatch.incrementSequence does.
func addSequence(seq int32, n int) int32 {
	s := int64(seq) + int64(n)
	if s > math.MaxInt32 {
		s -= math.MaxInt32 + 1
	}
	return int32(s)
}
