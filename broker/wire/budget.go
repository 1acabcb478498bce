package wire

import (
	"context"
	"sync"
)

// DefaultQueuedMaxRequestBytes is the default Config.QueuedMaxRequestBytes:
// 500 MiB, five frames of the largest default size (DefaultMaxFrameBytes).
// Kafka's queued.max.request.bytes defaults to no bound; a bound is what
// keeps clients that announce large frames and send them slowly (or never
// finish them) from taking the broker's memory, and five maximal requests
// at once, or hundreds of ordinary produce requests of a MiB, is more than
// a broker of this size reads at a time.
const DefaultQueuedMaxRequestBytes int64 = 500 << 20

// budget bounds the memory of request frames across all connections of a
// server (Kafka's queued.max.request.bytes, KIP-72's memory pool). A frame
// is charged as its buffer grows, which happens only as its bytes arrive
// (readFrame), and the charge is released once its response is written:
// until then the decoded request may alias the frame. A reader that cannot
// get more waits (its connection stops reading, and TCP pushes back on the
// client) instead of failing.
//
// The limit may be passed by at most one frame. Readers that each hold part
// of a frame and all wait for more would otherwise wait for each other for
// ever; so when every reader holding part of a frame is waiting, one of
// them (the privileged reader) goes on past the limit until its frame is
// whole. An empty budget always lets a frame start, whatever the limit. A client that stalls in the middle of a frame does not count as
// waiting: the others wait for it, up to the idle timeout that closes it
// (Config.IdleTimeout).
type budget struct {
	limit int64 // <= 0: no limit, only accounting

	mu       sync.Mutex
	used     int64
	holders  int           // claims holding part of a frame
	waiting  int           // of them, how many wait in grow
	sleepers int           // every claim waiting in grow
	priv     *claim        // the privileged reader, or nil
	freed    chan struct{} // closed and replaced, when someone waits, as memory is freed or holders leave
}

func newBudget(limit int64) *budget {
	return &budget{limit: limit, freed: make(chan struct{})}
}

// claim is one connection's share of the budget for the frame it is
// reading.
type claim struct {
	b    *budget
	held int64 // bytes of the frame being read
}

// grow charges n more bytes to the frame being read, waiting while the
// budget has no room. It gives up with the cause when ctx ends or stop is
// closed.
func (c *claim) grow(ctx context.Context, stop <-chan struct{}, n int64) error {
	b := c.b
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		if b.limit <= 0 || b.used == 0 || b.used+n <= b.limit || b.priv == c ||
			(b.priv == nil && c.held > 0 && b.waiting == b.holders-1) {
			if c.held > 0 && b.limit > 0 && b.used+n > b.limit {
				b.priv = c // every other holder waits: this one goes on
			}
			if c.held == 0 {
				b.holders++
			}
			c.held += n
			b.used += n
			return nil
		}
		freed := b.freed
		if c.held > 0 {
			b.waiting++
		}
		b.sleepers++
		b.mu.Unlock()
		var err error
		select {
		case <-freed:
		case <-ctx.Done():
			err = context.Cause(ctx)
		case <-stop:
			err = ErrServerClosed
		}
		b.mu.Lock()
		b.sleepers--
		if c.held > 0 {
			b.waiting--
		}
		if err != nil {
			return err
		}
	}
}

// done ends the frame: whole (its charge, returned, is released later with
// release), or abandoned (then release it at once). The claim can then
// start the next frame.
func (c *claim) done() int64 {
	b := c.b
	b.mu.Lock()
	defer b.mu.Unlock()
	n := c.held
	if n > 0 {
		b.holders--
	}
	c.held = 0
	if b.priv == c {
		b.priv = nil
	}
	b.wake() // one holder fewer: the waiting ones may all be waiting now
	return n
}

// release gives back the charge of a frame (done's result).
func (b *budget) release(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	b.wake()
	b.mu.Unlock()
}

// wake lets waiting readers look again. b.mu is held.
func (b *budget) wake() {
	if b.sleepers > 0 {
		close(b.freed)
		b.freed = make(chan struct{})
	}
}

// inUse is how many bytes frames hold now.
func (b *budget) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}
