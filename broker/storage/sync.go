package storage

import (
	"errors"
	"sync"
)

// groupCommit shares fsyncs between concurrent callers: one caller at a time
// runs a round; callers that arrive meanwhile wait and are served together
// by the next round. A caller returns once a round that started after its
// call began has completed, because only such a round covers its writes.
type groupCommit struct {
	mu      sync.Mutex
	cond    *sync.Cond
	running bool
	started uint64 // rounds started
	done    uint64 // rounds completed
	lastOK  uint64 // the latest round that succeeded
	lastErr error  // the latest round's error
	waiters int    // callers waiting for a round (tests watch it)
}

func (g *groupCommit) do(round func() error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cond == nil {
		g.cond = sync.NewCond(&g.mu)
	}
	// The first round to start from now on covers this call.
	target := g.started + 1
	for g.done < target {
		if g.running {
			g.waiters++
			g.cond.Wait()
			g.waiters--
			continue
		}
		g.running = true
		g.started++
		n := g.started
		g.mu.Unlock()
		err := round()
		g.mu.Lock()
		g.running = false
		g.done = n
		if err == nil {
			g.lastOK = n
		} else {
			g.lastErr = err
		}
		g.cond.Broadcast()
	}
	if g.lastOK >= target {
		return nil
	}
	return g.lastErr
}

// Sync makes every byte appended before the call durable: segment data,
// the indexes of rolled segments, and the directory entries of new files.
// Concurrent callers share fsyncs (group commit). A failed fsync fails the
// log (see Log.failed): it and every later Sync return ErrLogFailed. A round
// that could not open a directory to fsync it for want of a descriptor
// returns ErrResourceExhausted and leaves the log writable: the next Sync
// does the work again.
func (l *Log) Sync() error {
	return l.commit.do(l.syncRound)
}

type syncJob struct {
	s       *segment
	size    int64
	indexes bool
}

// syncRound is one group-commit round: it notes what is unsynced under
// l.mu, fsyncs it without l.mu (appends and reads go on), then records the
// progress and, when whole segments became durable, moves the recovery
// point past them.
func (l *Log) syncRound() error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()

	l.mu.Lock()
	if err := l.writable(); err != nil {
		l.mu.Unlock()
		return err
	}
	var jobs []syncJob
	for i, s := range l.segments {
		indexes := i < len(l.segments)-1 && !s.indexesSynced
		if s.syncedSize < s.size || indexes {
			jobs = append(jobs, syncJob{s: s, size: s.size, indexes: indexes})
		}
	}
	dirDirty := l.dirDirty
	l.dirDirty = false
	target := l.logEnd()
	l.mu.Unlock()

	// Files are closed only under syncMu, which this round holds.
	var err error
	for _, j := range jobs {
		if err = j.s.log.Sync(); err != nil {
			break
		}
		if j.indexes {
			if err = errors.Join(j.s.index.f.Sync(), j.s.timeIndex.f.Sync()); err != nil {
				break
			}
		}
	}
	if err == nil && dirDirty {
		err = l.fsys.SyncDir(l.dir)
	}

	l.mu.Lock()
	if err != nil {
		// SyncDir opens the directory: with no descriptor free it fails
		// having done nothing, and the files' fsyncs it follows lost
		// nothing either. The round is then retried as a whole.
		l.dirDirty = l.dirDirty || dirDirty
		err = l.failOrRetry(err)
		l.mu.Unlock()
		return err
	}
	for _, j := range jobs {
		j.s.syncedSize = max(j.s.syncedSize, j.size)
		if j.indexes {
			j.s.indexesSynced = true
		}
	}
	l.synced = max(l.synced, target)
	rp := l.durablePrefix()
	l.mu.Unlock()

	if rp > l.recoveryPoint {
		err := writeFileAtomic(l.fsys, l.dir, recoveryPointFile, encodeOffsetCheckpoint(rp))
		switch {
		case err == nil:
			l.recoveryPoint = rp
		case resourceExhausted(err):
			// The round's bytes are durable; only the recovery point
			// lags (recovery rescans more), and the next round that
			// finds it behind writes it.
		default:
			l.mu.Lock()
			err = l.fail(err)
			l.mu.Unlock()
			return err
		}
	}
	return nil
}

// durablePrefix is the base offset of the first segment not known fully
// durable (data and indexes); the active segment never is. l.mu is held.
func (l *Log) durablePrefix() int64 {
	rp := l.segments[0].base
	for i, s := range l.segments[:len(l.segments)-1] {
		if s.syncedSize < s.size || !s.indexesSynced {
			break
		}
		rp = l.segments[i+1].base
	}
	return rp
}

// lowerRecoveryPoint moves the recovery point back to offset, durably,
// before bytes below the old one change. l.syncMu is held.
func (l *Log) lowerRecoveryPoint(offset int64) error {
	if offset >= l.recoveryPoint {
		return nil
	}
	if err := writeFileAtomic(l.fsys, l.dir, recoveryPointFile, encodeOffsetCheckpoint(offset)); err != nil {
		return err
	}
	l.recoveryPoint = offset
	return nil
}
