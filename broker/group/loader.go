package group

import (
	"errors"

	"github.com/ordo-broker/ordo/broker/storage"
)

// load reads the partition from its log start to its high watermark,
// rebuilding the groups, then starts serving them.
func (sh *shard) load() {
	c := sh.c
	log := c.logs(sh.index)
	if log == nil {
		c.cfg.Logger.Error("group coordinator: partition to load is not hosted", "partition", sh.index)
		sh.unload()
		return
	}
	loader := NewLoader(c.cfg.Group)
	start, end := log.LogStartOffset(), log.HighWatermark()
	records := 0
	for off := start; off < end; {
		if sh.ctx.Err() != nil {
			return
		}
		raw, _, err := log.Read(off, 1<<20, true)
		if errors.Is(err, storage.ErrOffsetOutOfRange) && off < log.LogStartOffset() {
			off = log.LogStartOffset() // records deleted meanwhile
			continue
		}
		if err != nil {
			c.cfg.Logger.Error("group coordinator: loading failed", "partition", sh.index, "offset", off, "err", err)
			sh.unload()
			return
		}
		if len(raw) == 0 {
			break
		}
		next, err := forEachRecord(raw, func(offset int64, key, value []byte) error {
			if offset < start || offset >= end {
				return nil
			}
			records++
			if err := loader.Replay(offset, key, value); err != nil {
				// A record Ordo cannot read is skipped, not fatal:
				// Kafka's loader logs and moves on too.
				c.cfg.Logger.Warn("group coordinator: skipping unreadable record", "partition", sh.index, "offset", offset, "err", err)
			}
			return nil
		})
		if err != nil {
			c.cfg.Logger.Error("group coordinator: loading failed", "partition", sh.index, "offset", off, "err", err)
			sh.unload()
			return
		}
		if next <= off {
			break
		}
		off = next
	}

	now := c.now()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.state != shardLoading {
		return
	}
	sh.log = log
	for id, g := range loader.Groups() {
		e := newEntry(sh, g)
		e.mu.Lock()
		g.Loaded(now)
		e.arm()
		e.mu.Unlock()
		sh.groups[id] = e
	}
	sh.state = shardActive
	if len(sh.groups) > 0 || records > 0 {
		c.cfg.Logger.Info("group coordinator: loaded", "partition", sh.index, "groups", len(sh.groups), "records", records)
	}
}
