package fs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
)

// FileCache is a filesystem that holds at most a fixed number of files open
// on the filesystem under it, however many handles its users keep: a broker
// with 20,000 partitions keeps a segment file and two index files per
// segment, and would otherwise hold a descriptor for each for as long as it
// runs (and run out of them, refusing connections and new partitions alike).
//
// A handle (File) from OpenFile behaves as a file opened once and kept
// open, but its descriptor may be closed while it is idle ("evicted") and is
// reopened, by name, on its next use. The cache keeps the POSIX behaviour
// storage relies on across an eviction:
//   - bytes written through a handle and not yet synced are fsynced before
//     its descriptor is closed, and a failure of that fsync sticks to the
//     handle: every later call on it returns the error, so the owner's next
//     write or Sync learns that its bytes may be lost (after a failed fsync
//     the kernel may have dropped the dirty pages; a descriptor opened later
//     might not report it). Sync on an evicted handle, which is clean, costs
//     nothing;
//   - a handle follows its file through Rename; a file removed or replaced
//     while handles name it first has those handles reopened and pinned
//     (never evicted again), so they read the old contents until closed, as
//     an open descriptor does;
//   - the position of Read, Write and Seek is the handle's own.
//
// Eviction picks an idle handle by the CLOCK algorithm (an approximation of
// least recently used that costs an atomic flag per access, not a list
// update under a lock): every open descriptor has a "used" bit, set by each
// access and cleared as the clock hand passes; the hand evicts the first
// idle handle whose bit is clear. A handle in use (an operation in flight) is
// never evicted, so while more handles than the bound are in use at once the
// cache holds more descriptors than the bound, and comes back under it as
// they finish.
//
// Over a Mem, the cache belongs to one simulated process: once the Mem
// crashes, every call through the cache and its handles fails with
// ErrFenced, as the handles of a process that lost power would; the
// restarted process makes a new cache.
//
// Lock order: FileCache.nameMu → FileCache.mu → cachedFile.mu.
type FileCache struct {
	fsys    FS
	max     int
	gen     func() uint64 // the Mem's crash generation, nil over other filesystems
	created uint64        // gen() when the cache was made

	// nameMu is held for writing while a name changes (Rename, Remove,
	// RemoveAll) and for reading while a handle is reopened by its name, so
	// that a reopen never finds a name half-moved. It guards cachedFile.name
	// together with mu: a writer holds both, a reader either.
	nameMu sync.RWMutex

	excess atomic.Bool // open-closing > max, kept by countsChangedLocked

	mu      sync.Mutex
	open    int           // descriptors open, being opened or being closed
	closing int           // evictions picked and not finished
	ring    []*cachedFile // open, unpinned handles: the clock's face
	hand    int
	names   map[string]map[*cachedFile]struct{} // live handles by name
	// under counts the live handles below each directory, so that
	// removing or renaming a directory with none (a deleted partition's,
	// whose logs closed first) costs no scan of every name.
	under map[string]int
	stats FileCacheStats
}

// FileCacheStats counts what a FileCache did.
type FileCacheStats struct {
	// Open is the descriptors the cache holds now; Max its bound.
	Open, Max int
	// Opens counts OpenFile calls that succeeded, Reopens the descriptors
	// reopened for evicted handles, Evictions the descriptors closed to
	// keep the bound, and EvictionSyncs the evictions that had to fsync
	// unsynced bytes first.
	Opens, Reopens, Evictions, EvictionSyncs uint64
}

// DefaultMaxOpen is the bound a broker's FileCache gets unless configured:
// half of the process's open-files limit (RLIMIT_NOFILE), leaving the
// other half to client connections and everything else, capped at 65,536
// (beyond that, more descriptors save few reopens and cost kernel memory);
// 1024 if the limit is unknown or unlimited.
func DefaultMaxOpen() int {
	n := openFilesLimit()
	if n == 0 {
		return 1024
	}
	return int(max(min(n/2, 65536), minMaxOpen))
}

// minMaxOpen is the smallest bound NewFileCache accepts: storage needs a
// few files at once (a segment's three, a checkpoint being written).
const minMaxOpen = 4

// NewFileCache returns a filesystem over fsys that holds at most maxOpen
// descriptors open (at least 4). For a Mem, pass the Mem itself, not a
// wrapper around it, so the cache can tell when it crashed.
func NewFileCache(fsys FS, maxOpen int) *FileCache {
	c := &FileCache{
		fsys:  fsys,
		max:   max(maxOpen, minMaxOpen),
		names: map[string]map[*cachedFile]struct{}{},
		under: map[string]int{},
	}
	if g, ok := fsys.(interface{ generation() uint64 }); ok {
		c.gen = g.generation
		c.created = g.generation()
	}
	return c
}

var _ FS = (*FileCache)(nil)

// Stats returns the cache's counters.
func (c *FileCache) Stats() FileCacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Open, s.Max = c.open, c.max
	return s
}

// fenced returns ErrFenced if the Mem under the cache crashed since the
// cache was made.
func (c *FileCache) fenced(op, name string) error {
	if c.isFenced() {
		return &os.PathError{Op: op, Path: name, Err: ErrFenced}
	}
	return nil
}

func (c *FileCache) isFenced() bool { return c.gen != nil && c.gen() != c.created }

// countsChangedLocked records whether more descriptors are open than the
// bound, so that finishing an operation costs an atomic load, not c.mu,
// unless there is something to evict.
func (c *FileCache) countsChangedLocked() {
	c.excess.Store(c.open-c.closing > c.max)
}

// OpenFile opens name on the filesystem underneath (honouring every flag)
// and returns a handle whose descriptor the cache may close while it is idle
// and reopen (without O_CREATE, O_EXCL and O_TRUNC) when it is used again.
func (c *FileCache) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	name = filepath.Clean(name)
	if err := c.fenced("open", name); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.open++
	c.countsChangedLocked()
	c.mu.Unlock()
	f, err := c.fsys.OpenFile(name, flag, perm)
	if err != nil {
		c.mu.Lock()
		c.open--
		c.countsChangedLocked()
		c.mu.Unlock()
		return nil, err
	}
	h := &cachedFile{
		c:       c,
		name:    name,
		flag:    flag &^ (os.O_CREATE | os.O_EXCL | os.O_TRUNC),
		app:     flag&os.O_APPEND != 0,
		f:       f,
		ringIdx: -1,
	}
	h.cond = sync.NewCond(&h.mu)
	h.used.Store(true) // a new handle is about to be used: spare it once
	c.mu.Lock()
	c.stats.Opens++
	c.addNameLocked(h)
	c.addRingLocked(h)
	c.mu.Unlock()
	c.evictExcess()
	return h, nil
}

// Remove removes name. Handles on it are first made to keep the file open
// (pinned), so they go on reading it as open descriptors do.
func (c *FileCache) Remove(name string) error {
	name = filepath.Clean(name)
	if err := c.fenced("remove", name); err != nil {
		return err
	}
	c.pinNamed(name, false)
	c.nameMu.Lock()
	defer c.nameMu.Unlock()
	return c.fsys.Remove(name)
}

// RemoveAll removes path and everything under it, pinning the handles on
// the files it removes first (see Remove).
func (c *FileCache) RemoveAll(path string) error {
	path = filepath.Clean(path)
	if err := c.fenced("removeall", path); err != nil {
		return err
	}
	c.pinNamed(path, true)
	c.nameMu.Lock()
	defer c.nameMu.Unlock()
	return c.fsys.RemoveAll(path)
}

// Rename renames oldpath to newpath. Handles on oldpath (or, when it is a
// directory, on files under it) follow the file; handles on a file that
// newpath replaces are pinned first (see Remove).
func (c *FileCache) Rename(oldpath, newpath string) error {
	oldpath, newpath = filepath.Clean(oldpath), filepath.Clean(newpath)
	if err := c.fenced("rename", oldpath); err != nil {
		return err
	}
	if oldpath != newpath {
		info, err := c.fsys.Stat(newpath)
		c.pinNamed(newpath, err == nil && info.IsDir())
	}
	c.nameMu.Lock()
	defer c.nameMu.Unlock()
	if err := c.fsys.Rename(oldpath, newpath); err != nil {
		return err
	}
	tree := false
	if info, err := c.fsys.Stat(newpath); err == nil && info.IsDir() {
		tree = true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, h := range c.namedLocked(oldpath, tree) {
		c.removeNameLocked(h)
		h.name = newpath + strings.TrimPrefix(h.name, oldpath)
		c.addNameLocked(h)
	}
	return nil
}

// namedLocked returns the live handles on name and, with tree, on the
// files under it.
func (c *FileCache) namedLocked(name string, tree bool) []*cachedFile {
	var hs []*cachedFile
	for h := range c.names[name] {
		hs = append(hs, h)
	}
	if tree && c.under[name] > 0 {
		for n, set := range c.names {
			if isUnder(n, name) {
				for h := range set {
					hs = append(hs, h)
				}
			}
		}
	}
	return hs
}

// MkdirAll creates path and its missing parents.
func (c *FileCache) MkdirAll(path string, perm os.FileMode) error {
	if err := c.fenced("mkdir", path); err != nil {
		return err
	}
	return c.fsys.MkdirAll(path, perm)
}

// ReadDir lists the names in a directory, sorted.
func (c *FileCache) ReadDir(name string) ([]string, error) {
	if err := c.fenced("readdir", name); err != nil {
		return nil, err
	}
	return c.fsys.ReadDir(name)
}

// Stat describes the named file or directory.
func (c *FileCache) Stat(name string) (os.FileInfo, error) {
	if err := c.fenced("stat", name); err != nil {
		return nil, err
	}
	return c.fsys.Stat(name)
}

// SyncDir makes the directory's entries durable.
func (c *FileCache) SyncDir(name string) error {
	if err := c.fenced("sync", name); err != nil {
		return err
	}
	return c.fsys.SyncDir(name)
}

// Lock passes through: a lock holds its descriptor for the process's
// life, outside the cache's bound (the data directory's .lock is the
// broker's, not a partition log's).
func (c *FileCache) Lock(name string) (Lock, error) { return c.fsys.Lock(name) }

// isUnder says whether name lies below the directory dir.
func isUnder(name, dir string) bool {
	if !strings.HasPrefix(name, dir) || len(name) == len(dir) {
		return false
	}
	return os.IsPathSeparator(name[len(dir)]) || os.IsPathSeparator(dir[len(dir)-1]) // dir is the root
}

func (c *FileCache) addNameLocked(h *cachedFile) {
	set := c.names[h.name]
	if set == nil {
		set = map[*cachedFile]struct{}{}
		c.names[h.name] = set
	}
	set[h] = struct{}{}
	c.countUnderLocked(h.name, 1)
}

func (c *FileCache) removeNameLocked(h *cachedFile) {
	if set := c.names[h.name]; set != nil {
		if _, ok := set[h]; !ok {
			return
		}
		delete(set, h)
		if len(set) == 0 {
			delete(c.names, h.name)
		}
		c.countUnderLocked(h.name, -1)
	}
}

// countUnderLocked adds d to the count of every directory above name.
func (c *FileCache) countUnderLocked(name string, d int) {
	for dir := filepath.Dir(name); ; dir = filepath.Dir(dir) {
		if c.under[dir] += d; c.under[dir] == 0 {
			delete(c.under, dir)
		}
		if parent := filepath.Dir(dir); parent == dir {
			return
		}
	}
}

func (c *FileCache) addRingLocked(h *cachedFile) {
	if h.ringIdx >= 0 {
		return
	}
	h.ringIdx = len(c.ring)
	c.ring = append(c.ring, h)
}

// removeRingLocked takes h off the clock's face; the last handle takes its
// place, so the hand, if it pointed there, looks at that one next.
func (c *FileCache) removeRingLocked(h *cachedFile) {
	i := h.ringIdx
	if i < 0 {
		return
	}
	last := len(c.ring) - 1
	c.ring[i] = c.ring[last]
	c.ring[i].ringIdx = i
	c.ring[last] = nil
	c.ring = c.ring[:last]
	h.ringIdx = -1
}

// evictExcess closes idle descriptors while more than the bound are open.
func (c *FileCache) evictExcess() {
	if !c.excess.Load() {
		return
	}
	var victims []*cachedFile
	c.mu.Lock()
	for c.open-c.closing > c.max {
		h := c.pickLocked()
		if h == nil {
			break // every open descriptor is in use: over the bound for now
		}
		c.closing++
		victims = append(victims, h)
	}
	c.countsChangedLocked()
	c.mu.Unlock()
	for _, h := range victims {
		c.evict(h)
	}
}

// cleanLookahead is how many idle dirty handles the clock hand passes over
// looking for a clean one before it settles for the first dirty one: closing
// a dirty descriptor costs an fsync, paid by whoever needed a descriptor.
const cleanLookahead = 16

// pickLocked moves the clock hand to an idle handle whose used bit is clear
// (clearing the bits it passes), preferring one with nothing to fsync, and
// marks it busy. Two turns of the face suffice: the first clears every bit.
// nil means no handle is idle.
func (c *FileCache) pickLocked() *cachedFile {
	var dirty *cachedFile
	skipped := 0
	for range 2 * len(c.ring) {
		if c.hand >= len(c.ring) {
			c.hand = 0
		}
		h := c.ring[c.hand]
		if h.used.Load() {
			h.used.Store(false)
			c.hand++
			continue
		}
		h.mu.Lock()
		idle := h.refs == 0 && !h.busy && h.f != nil && !h.pinned && !h.closed
		if idle && (!h.dirty || skipped == cleanLookahead) {
			h.busy = true
			h.mu.Unlock()
			c.removeRingLocked(h) // the hand now points at the next candidate
			return h
		}
		if idle && dirty == nil {
			dirty = h
		}
		if idle {
			skipped++
		}
		h.mu.Unlock()
		c.hand++
	}
	if dirty != nil {
		dirty.mu.Lock()
		ok := dirty.refs == 0 && !dirty.busy && dirty.f != nil && !dirty.pinned && !dirty.closed
		if ok {
			dirty.busy = true
		}
		dirty.mu.Unlock()
		if ok {
			c.removeRingLocked(dirty)
			return dirty
		}
	}
	return nil
}

// evict closes a picked handle's descriptor, fsyncing it first if bytes
// written through it are not known durable.
func (c *FileCache) evict(h *cachedFile) {
	h.mu.Lock()
	f, dirty := h.f, h.dirty
	h.mu.Unlock()
	var err error
	if dirty {
		err = f.Sync()
	}
	if cerr := f.Close(); dirty && err == nil {
		err = cerr
	}
	h.mu.Lock()
	h.f = nil
	h.busy = false
	if dirty {
		if err != nil {
			if h.err == nil {
				h.err = fmt.Errorf("fs: fsync before closing an idle file: %w", err)
			}
		} else {
			h.dirty = false
		}
	}
	h.cond.Broadcast()
	h.mu.Unlock()
	c.mu.Lock()
	c.open--
	c.closing--
	c.countsChangedLocked()
	c.stats.Evictions++
	if dirty {
		c.stats.EvictionSyncs++
	}
	c.mu.Unlock()
}

// pinNamed reopens and pins the live handles on name (and, with tree, on
// the files under it): the file is about to lose that name.
func (c *FileCache) pinNamed(name string, tree bool) {
	c.mu.Lock()
	hs := c.namedLocked(name, tree)
	for _, h := range hs {
		// A pinned handle never opens by name again: it has none.
		c.removeNameLocked(h)
	}
	c.mu.Unlock()
	for _, h := range hs {
		c.pin(h, name)
	}
}

func (c *FileCache) pin(h *cachedFile, name string) {
	h.mu.Lock()
	for h.busy {
		h.cond.Wait()
	}
	if h.closed || h.pinned || h.err != nil {
		h.mu.Unlock()
		return
	}
	h.pinned = true
	if h.f != nil {
		h.mu.Unlock()
		c.mu.Lock()
		c.removeRingLocked(h)
		c.mu.Unlock()
		return
	}
	h.busy = true
	h.mu.Unlock()
	f, err := c.openDescriptor(h)
	h.mu.Lock()
	h.busy = false
	if err != nil {
		h.err = fmt.Errorf("fs: %s is being removed or replaced while its handle was closed to bound open files, and reopening it failed: %w", name, err)
	} else {
		h.f = f
	}
	h.cond.Broadcast()
	h.mu.Unlock()
}

// openDescriptor opens an evicted handle's file by its current name. The
// caller has marked it busy.
func (c *FileCache) openDescriptor(h *cachedFile) (File, error) {
	c.nameMu.RLock()
	defer c.nameMu.RUnlock()
	c.mu.Lock()
	name := h.name
	c.open++
	c.countsChangedLocked()
	c.mu.Unlock()
	f, err := c.fsys.OpenFile(name, h.flag, 0)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.open--
		c.countsChangedLocked()
		return nil, err
	}
	c.stats.Reopens++
	return f, nil
}
