package controller

import (
	"errors"
	"fmt"
	"math"

	"github.com/ordo-broker/ordo/broker/metadata"
)

// ErrProducerIDsExhausted means the int64 producer id space is used up.
var ErrProducerIDsExhausted = errors.New("no producer ids left")

// AllocateProducerIDs gives broker the next block of blockSize producer ids
// and returns the first; the block is [first, first+blockSize). As in KRaft
// (KIP-730, the controller's AllocateProducerIds), the block is recorded in
// the metadata log and is durable before this returns, so a broker may hand
// ids from it to clients at once: after a restart or a crash the next block
// starts above it, and no id is ever given out twice.
func (c *Controller) AllocateProducerIDs(broker int32, blockSize int64) (first int64, err error) {
	if blockSize <= 0 {
		return 0, fmt.Errorf("controller: producer id block size %d", blockSize)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	first = c.image.NextProducerID
	if first > math.MaxInt64-blockSize {
		return 0, ErrProducerIDsExhausted
	}
	rec := metadata.ProducerIDsRecord{Broker: broker, NextProducerID: first + blockSize}
	if err := c.commit(metadata.Record{ProducerIDs: &rec}); err != nil {
		return 0, err
	}
	return first, nil
}
