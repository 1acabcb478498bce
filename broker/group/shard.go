package group

import (
	"context"
	"sync"
)

// shard is one partition of __consumer_offsets led by this broker and the
// groups it holds (Kafka's coordinator shard).
type shard struct {
	c      *Coordinator
	index  int32
	epoch  int32 // the leader epoch it was loaded for
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	state  shardState
	log    Log
	groups map[string]*entry
}

type shardState int8

const (
	shardLoading shardState = iota
	shardActive
	shardUnloaded
)

func newShard(c *Coordinator, index, epoch int32) *shard {
	ctx, cancel := context.WithCancel(c.ctx)
	return &shard{c: c, index: index, epoch: epoch, ctx: ctx, cancel: cancel, groups: map[string]*entry{}}
}

// entry returns the group's entry, locked, creating the group if create is
// set; nil (and no error) if the group does not exist.
func (sh *shard) entry(id string, create bool) (*entry, error) {
	for {
		sh.mu.Lock()
		switch sh.state {
		case shardLoading:
			sh.mu.Unlock()
			return nil, ErrCoordinatorLoadInProgress
		case shardUnloaded:
			sh.mu.Unlock()
			return nil, ErrNotCoordinator
		}
		e := sh.groups[id]
		if e == nil {
			if !create {
				sh.mu.Unlock()
				return nil, nil
			}
			e = newEntry(sh, New(id, sh.c.cfg.Group, sh.c.now()))
			sh.groups[id] = e
		}
		sh.mu.Unlock()
		e.mu.Lock()
		if e.unloaded || e.g.State() == Dead {
			// Deleted or unloaded since we found it: look again.
			e.mu.Unlock()
			continue
		}
		return e, nil
	}
}

// each calls fn with every group's entry, locked; the error says whether
// the shard can answer at all.
func (sh *shard) each(fn func(e *entry)) error {
	sh.mu.Lock()
	switch sh.state {
	case shardLoading:
		sh.mu.Unlock()
		return ErrCoordinatorLoadInProgress
	case shardUnloaded:
		sh.mu.Unlock()
		return ErrNotCoordinator
	}
	entries := make([]*entry, 0, len(sh.groups))
	for _, e := range sh.groups {
		entries = append(entries, e)
	}
	sh.mu.Unlock()
	for _, e := range entries {
		e.mu.Lock()
		if !e.unloaded && e.g.State() != Dead {
			fn(e)
		}
		e.mu.Unlock()
	}
	return nil
}

// unload stops serving the shard's groups: their parked requests get
// NOT_COORDINATOR and their timers stop.
func (sh *shard) unload() {
	sh.cancel()
	sh.mu.Lock()
	sh.state = shardUnloaded
	groups := sh.groups
	sh.groups = map[string]*entry{}
	sh.mu.Unlock()
	for _, e := range groups {
		e.mu.Lock()
		e.unload()
		e.mu.Unlock()
	}
}
