package storage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ordo-broker/ordo/broker/fs"
)

// Swapping a cleaned segment in, crash-safely. Kafka's protocol
// (LogCleaner, UnifiedLog.replaceSegments) with Ordo's directory rules
// (an entry is durable only after SyncDir of its folder, and a real
// filesystem may make a batch of entry changes durable in any order):
//
//	written  B.log.cleaned, B.index.cleaned, B.timeindex.cleaned written and
//	         fsynced (cleanGroup). A crash: recovery deletes *.cleaned.
//	commit   rename B.log.cleaned → B.log.swap; SyncDir. From here the
//	         swap is decided: recovery completes it.
//	clear    remove the group's other segments (all three files of each)
//	         and B.index; rename B.timeindex.cleaned → B.timeindex; SyncDir.
//	place    rename B.log.swap → B.log (replacing the old first segment)
//	         and B.index.cleaned → B.index; SyncDir.
//	memory   under Log.mu: the group's segments leave the list, the new one
//	         takes their place; reads that found the old segments finish
//	         on their files, which close after them (Log.filesMu).
//
// Recovery (completeSwaps) finds B.log.swap, reads it to learn its end
// offset E (it was fsynced whole before it got the name), deletes every
// segment file whose base offset lies in [B, E) — the group's old segments,
// whichever of them are still there, and B's indexes, old or new — renames
// B.log.swap to B.log, makes that durable, and rebuilds B's indexes. The
// "clear" step is durable before "place" starts, so the new B.log never
// exists next to an old segment it covers.
//
// The whole swap holds Log.syncMu, so no truncation, deletion, retention or
// sync round runs between the check that the group is unchanged and the
// end of the swap; appends and reads, which need only Log.mu, go on except
// during the "memory" step. The cost under syncMu is three directory
// fsyncs.

// swapIn replaces the group's segments by ns (fully written and fsynced
// under .cleaned names). If the group changed since the pass read it, the
// cleaned files are discarded and the pass aborted. An error after the
// commit fails the log: the files and the segment list no longer agree
// until a restart's recovery completes the swap.
func (l *Log) swapIn(g []segView, ns *segment) error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.RLock()
	i, ok := l.findGroup(g)
	err := l.writable()
	l.mu.RUnlock()
	if err != nil || !ok {
		l.discardCleaned(ns)
		if err != nil {
			return err
		}
		return errCleanAborted
	}
	path := func(name string) string { return filepath.Join(l.dir, name) }
	base := ns.base
	fail := func(err error) error {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.fail(fmt.Errorf("storage: swapping in cleaned segment %s: %w", segmentName(base, logExt), err))
	}

	// commit
	if err := l.fsys.Rename(path(cleanedName(base, logExt)), path(segmentName(base, logExt)+swapExt)); err != nil {
		l.discardCleaned(ns)
		return err
	}
	if err := l.fsys.SyncDir(l.dir); err != nil {
		return fail(err)
	}
	// clear
	var errs []error
	for _, v := range g[1:] {
		for _, ext := range []string{logExt, indexExt, timeIndexExt} {
			errs = append(errs, removeIfExists(l.fsys, path(segmentName(v.base, ext))))
		}
	}
	errs = append(errs,
		removeIfExists(l.fsys, path(segmentName(base, indexExt))),
		l.fsys.Rename(path(cleanedName(base, timeIndexExt)), path(segmentName(base, timeIndexExt))))
	if err := errors.Join(errs...); err != nil {
		return fail(err)
	}
	if err := l.fsys.SyncDir(l.dir); err != nil {
		return fail(err)
	}
	// place
	if err := errors.Join(
		l.fsys.Rename(path(segmentName(base, logExt)+swapExt), path(segmentName(base, logExt))),
		l.fsys.Rename(path(cleanedName(base, indexExt)), path(segmentName(base, indexExt))),
	); err != nil {
		return fail(err)
	}
	if err := l.fsys.SyncDir(l.dir); err != nil {
		return fail(err)
	}
	// memory
	ns.syncedSize, ns.indexesSynced = ns.size, true
	l.mu.Lock()
	old := append([]*segment(nil), l.segments[i:i+len(g)]...)
	segs := make([]*segment, 0, len(l.segments)-len(g)+1)
	segs = append(segs, l.segments[:i]...)
	segs = append(segs, ns)
	segs = append(segs, l.segments[i+len(g):]...)
	l.segments = segs
	l.mu.Unlock()
	// The old files' names are gone but their handles still read: reads
	// that copied the old list finish on them (their records were in the
	// log when those reads started), so l.gen does not change. Their
	// handles close once no such read is in flight.
	l.filesMu.Lock()
	for _, s := range old {
		_ = s.close()
	}
	l.filesMu.Unlock()
	return nil
}

// findGroup returns where the group's segments sit in the log, if they are
// all still there, consecutive, closed and unchanged. l.mu is held.
func (l *Log) findGroup(g []segView) (int, bool) {
	for i, s := range l.segments {
		if s != g[0].s {
			continue
		}
		if i+len(g) >= len(l.segments) { // the active segment is never cleaned
			return 0, false
		}
		for j, v := range g {
			if t := l.segments[i+j]; t != v.s || t.size != v.size || t.next != v.next {
				return 0, false
			}
		}
		return i, true
	}
	return 0, false
}

func removeIfExists(fsys fs.FS, name string) error {
	if err := fsys.Remove(name); err != nil && !fs.IsNotExist(err) {
		return err
	}
	return nil
}

// completeSwaps is recovery's part of the swap protocol (see above): it
// deletes *.cleaned files and completes every swap whose .swap file exists.
// It returns the folder's names afterwards and the base offsets of the
// segments it swapped in, whose indexes must be rebuilt.
func (l *Log) completeSwaps(names []string) ([]string, map[int64]bool, error) {
	changed := false
	var swaps []int64
	for _, name := range names {
		switch {
		case strings.HasSuffix(name, cleanedExt):
			if err := removeIfExists(l.fsys, filepath.Join(l.dir, name)); err != nil {
				return nil, nil, err
			}
			changed = true
		case strings.HasSuffix(name, swapExt):
			base, ok := parseSegmentName(strings.TrimSuffix(name, swapExt), logExt)
			if !ok {
				return nil, nil, fmt.Errorf("%w: unexpected file %s", ErrCorruptLog, name)
			}
			swaps = append(swaps, base)
		}
	}
	if changed {
		if err := l.fsys.SyncDir(l.dir); err != nil {
			return nil, nil, err
		}
	}
	swapped := map[int64]bool{}
	for _, base := range swaps {
		if err := l.completeSwap(names, base); err != nil {
			return nil, nil, err
		}
		swapped[base] = true
	}
	if len(swaps) > 0 || changed {
		var err error
		if names, err = l.fsys.ReadDir(l.dir); err != nil {
			return nil, nil, err
		}
	}
	return names, swapped, nil
}

// completeSwap finishes the swap of base's .swap file.
func (l *Log) completeSwap(names []string, base int64) error {
	swap := filepath.Join(l.dir, segmentName(base, logExt)+swapExt)
	end, err := swapEnd(l.fsys, swap)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrCorruptLog, filepath.Base(swap), err)
	}
	for _, name := range names {
		for _, ext := range []string{logExt, indexExt, timeIndexExt} {
			if b, ok := parseSegmentName(name, ext); ok && b >= base && b < end {
				if err := removeIfExists(l.fsys, filepath.Join(l.dir, name)); err != nil {
					return err
				}
			}
		}
	}
	if err := l.fsys.SyncDir(l.dir); err != nil {
		return err
	}
	if err := l.fsys.Rename(swap, filepath.Join(l.dir, segmentName(base, logExt))); err != nil {
		return err
	}
	return l.fsys.SyncDir(l.dir)
}

// swapEnd validates a .swap file (every batch whole, CRCs right, offsets
// increasing) and returns the offset after its last batch.
func swapEnd(fsys fs.FS, name string) (int64, error) {
	f, err := fsys.OpenFile(name, os.O_RDONLY, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return 0, err
	}
	end := int64(-1)
	sc := newScanner(f, 0, info.Size(), recoveryWindow)
	for {
		b, _, err := sc.next(true)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, err
		}
		if b.BaseOffset < end {
			return 0, fmt.Errorf("%w: batch at position %d goes back to offset %d", ErrCorruptBatch, b.Position, b.BaseOffset)
		}
		end = b.LastOffset() + 1
	}
	if end < 0 {
		return 0, fmt.Errorf("%w: no batch", ErrCorruptBatch)
	}
	return end, nil
}

// loadSwapped restores a segment that recovery has just swapped in: it was
// fsynced whole, so it is scanned and checked like a segment below the
// recovery point, and its indexes are rebuilt from it.
func (l *Log) loadSwapped(s *segment) error {
	if err := l.rescanDurable(s); err != nil {
		return err
	}
	l.dirDirty = true // the index files' names, if they were recreated
	return nil
}
