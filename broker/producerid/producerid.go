// Package producerid is the broker's producer id manager: it hands out
// producer ids to idempotent producers (InitProducerId) and bumps their
// epochs (KIP-360).
//
// Ids come from blocks the controller allocates through the metadata log
// (KIP-730): a block is durable before any id in it is handed out, so ids
// never repeat across restarts, crashes or (later) brokers.
//
// Epochs: Kafka keeps a producer's epoch in its transaction coordinator, and
// only for transactional ids; for an idempotent producer (no transactional
// id) it ignores the id and epoch in the request and hands out a new id with
// epoch 0 every time. Ordo does a little more, as KIP-360 describes for
// bumps: it remembers the current and the previous epoch of the ids it
// handed out since it started (the most recent maxKnown of them), so a
// producer that asks with its current id and epoch gets the same id with
// the next epoch, and partitions then fence its older in-flight batches
// with INVALID_PRODUCER_EPOCH. An id it does not remember (handed out before
// a restart, by another broker, or forgotten) gets a new id with epoch 0,
// which is Kafka's answer and always safe: a new id starts a fresh sequence
// on every partition. This state is in memory only: partitions keep their
// own per-producer epochs in the log (see partition's producer state), and
// nothing here needs to survive a restart for idempotence to hold.
//
// Lock order: Manager.mu before the controller's lock (allocating a block
// commits a metadata record while holding Manager.mu).
package producerid

import (
	"errors"
	"fmt"
	"math"
	"sync"
)

// BlockSize is how many ids one metadata record allocates: Kafka's
// ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE.
const BlockSize = 1000

// maxKnown bounds the ids whose epochs the manager remembers. A forgotten
// id only means its next InitProducerId gets a new id instead of a bump.
const maxKnown = 100_000

// Errors the manager answers with; handlers map them to Kafka codes.
var (
	// ErrInvalidProducerEpoch: the request names an id this broker
	// remembers, with an epoch that is neither its current nor its
	// previous one (KIP-360: another instance bumped it).
	ErrInvalidProducerEpoch = errors.New("producer epoch is not the producer id's current epoch")
	// ErrNoBlock: the controller could not allocate a block of ids.
	ErrNoBlock = errors.New("could not allocate a block of producer ids")
)

// Allocator is the controller: it hands out durable blocks of ids.
type Allocator interface {
	AllocateProducerIDs(broker int32, blockSize int64) (first int64, err error)
}

// Manager hands out producer ids and epochs. It is safe for concurrent use.
type Manager struct {
	alloc     Allocator
	broker    int32
	blockSize int64

	mu        sync.Mutex
	next, end int64 // the current block's unused ids: [next, end)
	known     map[int64]epochs
	order     []int64 // ids in the order they were handed out, for forgetting
}

type epochs struct {
	current, previous int16 // previous is -1 before the first bump
}

// New returns a manager for broker that takes blocks from alloc.
func New(alloc Allocator, broker int32) *Manager {
	return &Manager{alloc: alloc, broker: broker, blockSize: BlockSize, known: map[int64]epochs{}}
}

// Init answers InitProducerId for an idempotent producer. producerID and
// epoch are -1 for a new producer; otherwise they are the producer's
// current id and epoch (InitProducerId v3+, KIP-360), and the answer is an
// epoch bump when the manager remembers that id:
//   - epoch is the id's current epoch: the same id with the next epoch (a
//     new id with epoch 0 when the epoch is exhausted);
//   - epoch is the id's previous epoch: the current one again (the client
//     retried a bump whose answer it lost);
//   - any other epoch: ErrInvalidProducerEpoch.
//
// An id the manager does not remember gets a new id with epoch 0.
func (m *Manager) Init(producerID int64, epoch int16) (int64, int16, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.known[producerID]; ok && producerID >= 0 {
		switch {
		case epoch == e.current && e.current < math.MaxInt16:
			m.known[producerID] = epochs{current: e.current + 1, previous: e.current}
			return producerID, e.current + 1, nil
		case epoch == e.current:
			// Epoch exhausted: a new id, as Kafka's producers do.
		case epoch == e.previous && epoch >= 0:
			return producerID, e.current, nil
		default:
			return 0, 0, fmt.Errorf("%w: producer id %d has epoch %d, the request says %d", ErrInvalidProducerEpoch, producerID, e.current, epoch)
		}
	}
	id, err := m.nextID()
	if err != nil {
		return 0, 0, err
	}
	m.remember(id)
	return id, 0, nil
}

// nextID takes an id from the current block, allocating a new block when it
// is used up. m.mu is held.
func (m *Manager) nextID() (int64, error) {
	if m.next == m.end {
		first, err := m.alloc.AllocateProducerIDs(m.broker, m.blockSize)
		if err != nil {
			return 0, fmt.Errorf("%w: %w", ErrNoBlock, err)
		}
		m.next, m.end = first, first+m.blockSize
	}
	id := m.next
	m.next++
	return id, nil
}

// remember starts tracking a new id's epochs, forgetting the oldest id when
// there are too many. m.mu is held.
func (m *Manager) remember(id int64) {
	m.known[id] = epochs{current: 0, previous: -1}
	m.order = append(m.order, id)
	for len(m.known) > maxKnown {
		delete(m.known, m.order[0])
		m.order = m.order[1:]
	}
}
