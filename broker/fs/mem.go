package fs

import (
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// ErrFenced is returned by every operation on a Mem file handle that was
// opened before a Crash: the process that held it is gone.
var ErrFenced = errors.New("fs: file handle fenced by a simulated crash")

// Mem is an in-memory filesystem that knows what a power loss would keep.
//
// Durability follows a strict POSIX reading, the one Kafka and every careful
// database assume:
//   - a file's contents are durable up to its last File.Sync;
//   - a directory entry (a file or directory created, renamed or removed) is
//     durable only after SyncDir of the directory that holds it. A file's own
//     Sync does not make its name durable, and SyncDir does not make a file's
//     contents durable.
//
// Crash drops everything else. Files are inodes, as on a real disk: a name
// refers to a node, Sync makes the node's bytes durable whatever its name,
// and after a crash a node survives only where a durable entry names it.
//
// Mem is safe for concurrent use. Paths are cleaned; relative paths are taken
// from the root.
type Mem struct {
	mu      sync.Mutex
	root    *memNode
	gen     uint64 // bumped by Crash; handles of older generations are fenced
	syncErr error  // injected by FailSync
	// locks are the held locks (Lock) by file; Crash drops them all, as
	// the death of their holders would.
	locks map[*memNode]*memLock
}

// memNode is an inode: a directory or a regular file.
type memNode struct {
	dir  bool
	mode os.FileMode
	mod  time.Time

	// Directory: the live entries and the entries as of the last SyncDir.
	children map[string]*memNode
	durable  map[string]*memNode

	// File: the live bytes and the bytes as of the last Sync.
	data   []byte
	synced []byte
	// shared means synced aliases data's backing array (Sync does not copy,
	// so that syncing an append-only file is O(1)); the first write into the
	// synced region must copy synced first.
	shared bool
	// rewrote means a write or truncation touched the synced region since
	// the last Sync, so the unsynced state is not "synced + appended bytes"
	// and a crash cannot keep a torn prefix of it.
	rewrote bool
}

// CrashOptions says what a simulated power loss keeps.
type CrashOptions struct {
	// TearLastWrite keeps, for each file whose unsynced change is a pure
	// append, a random prefix (possibly empty, possibly all) of the appended
	// bytes: the torn write a disk may leave behind.
	TearLastWrite bool
	// Rand chooses the prefixes; nil means a fixed seed. Print the seed in
	// tests so a failure can be replayed.
	Rand *rand.Rand
}

// NewMem returns an empty in-memory filesystem whose root directory exists
// and is durable.
func NewMem() *Mem {
	return &Mem{root: newDir(0o755)}
}

func newDir(perm os.FileMode) *memNode {
	return &memNode{
		dir:      true,
		mode:     os.ModeDir | perm.Perm(),
		children: map[string]*memNode{},
		durable:  map[string]*memNode{},
	}
}

var _ FS = (*Mem)(nil)

// FailSync makes every later File.Sync and SyncDir return err (nil stops the
// injection). The bytes are not made durable when a sync fails.
func (m *Mem) FailSync(err error) {
	m.mu.Lock()
	m.syncErr = err
	m.mu.Unlock()
}

// Crash simulates power loss and restart: each directory keeps only its
// durable entries, each file reverts to its synced bytes (plus, with
// TearLastWrite, a random prefix of what was appended after), and every open
// handle is fenced. The filesystem stays usable, as a rebooted machine's disk.
func (m *Mem) Crash(opts CrashOptions) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gen++
	m.locks = nil // the processes that held them are gone
	r := opts.Rand
	if opts.TearLastWrite && r == nil {
		r = rand.New(rand.NewPCG(1, 2))
	}
	seen := map[*memNode]bool{}
	var walk func(n *memNode)
	walk = func(n *memNode) {
		if seen[n] {
			return
		}
		seen[n] = true
		if n.dir {
			n.children = make(map[string]*memNode, len(n.durable))
			for name, c := range n.durable {
				n.children[name] = c
			}
			// Sorted, so that the random tears are reproducible from a seed.
			for _, name := range sortedNames(n.children) {
				walk(n.children[name])
			}
			return
		}
		keep := n.synced
		if opts.TearLastWrite && !n.rewrote && len(n.data) > len(n.synced) {
			extra := r.IntN(len(n.data) - len(n.synced) + 1)
			keep = n.data[:len(n.synced)+extra]
		}
		n.data = append(make([]byte, 0, len(keep)), keep...)
		n.synced = n.data[:len(n.data):len(n.data)]
		n.shared = true
		n.rewrote = false
	}
	walk(m.root)
}

func sortedNames(m map[string]*memNode) []string {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// split cleans name into its path elements below the root.
func split(name string) []string {
	clean := filepath.ToSlash(filepath.Clean("/" + name))
	if clean == "/" {
		return nil
	}
	return strings.Split(strings.TrimPrefix(clean, "/"), "/")
}

// lookup returns the node at the path elements, or nil.
func (m *Mem) lookup(elems []string) *memNode {
	n := m.root
	for _, e := range elems {
		if !n.dir {
			return nil
		}
		n = n.children[e]
		if n == nil {
			return nil
		}
	}
	return n
}

// parent returns the directory that holds the last element of name, and
// that element's name.
func (m *Mem) parent(op, name string) (*memNode, string, error) {
	elems := split(name)
	if len(elems) == 0 {
		return nil, "", &os.PathError{Op: op, Path: name, Err: os.ErrInvalid}
	}
	dir := m.lookup(elems[:len(elems)-1])
	if dir == nil || !dir.dir {
		return nil, "", &os.PathError{Op: op, Path: name, Err: os.ErrNotExist}
	}
	return dir, elems[len(elems)-1], nil
}

// OpenFile opens or creates a file, honouring O_CREATE, O_EXCL, O_TRUNC,
// O_APPEND and the access mode.
func (m *Mem) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n *memNode
	if elems := split(name); len(elems) == 0 {
		n = m.root
	} else {
		dir, base, err := m.parent("open", name)
		if err != nil {
			return nil, err
		}
		n = dir.children[base]
		switch {
		case n != nil && flag&os.O_CREATE != 0 && flag&os.O_EXCL != 0:
			return nil, &os.PathError{Op: "open", Path: name, Err: os.ErrExist}
		case n == nil && flag&os.O_CREATE == 0:
			return nil, &os.PathError{Op: "open", Path: name, Err: os.ErrNotExist}
		case n == nil:
			n = &memNode{mode: perm.Perm(), shared: true}
			dir.children[base] = n
		}
	}
	access := flag & (os.O_RDONLY | os.O_WRONLY | os.O_RDWR)
	if n.dir && access != os.O_RDONLY {
		return nil, &os.PathError{Op: "open", Path: name, Err: errors.New("is a directory")}
	}
	if flag&os.O_TRUNC != 0 && access != os.O_RDONLY {
		n.truncate(0)
	}
	return &memFile{
		m:     m,
		n:     n,
		gen:   m.gen,
		name:  name,
		read:  access != os.O_WRONLY,
		write: access != os.O_RDONLY,
		app:   flag&os.O_APPEND != 0,
	}, nil
}

// Remove removes a file or an empty directory.
func (m *Mem) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	dir, base, err := m.parent("remove", name)
	if err != nil {
		return err
	}
	n := dir.children[base]
	if n == nil {
		return &os.PathError{Op: "remove", Path: name, Err: os.ErrNotExist}
	}
	if n.dir && len(n.children) > 0 {
		return &os.PathError{Op: "remove", Path: name, Err: errors.New("directory not empty")}
	}
	delete(dir.children, base)
	return nil
}

// RemoveAll removes path and everything under it; a missing path is not an
// error.
func (m *Mem) RemoveAll(path string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	elems := split(path)
	if len(elems) == 0 {
		m.root.children = map[string]*memNode{}
		return nil
	}
	dir := m.lookup(elems[:len(elems)-1])
	if dir == nil || !dir.dir {
		return nil
	}
	delete(dir.children, elems[len(elems)-1])
	return nil
}

// Rename moves oldpath to newpath, replacing newpath if it is a file.
func (m *Mem) Rename(oldpath, newpath string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	odir, obase, err := m.parent("rename", oldpath)
	if err != nil {
		return err
	}
	n := odir.children[obase]
	if n == nil {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: os.ErrNotExist}
	}
	ndir, nbase, err := m.parent("rename", newpath)
	if err != nil {
		return err
	}
	if old := ndir.children[nbase]; old != nil && (old.dir || n.dir) && old != n {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: os.ErrExist}
	}
	delete(odir.children, obase)
	ndir.children[nbase] = n
	return nil
}

// MkdirAll creates path and any missing parents. New directories are, like
// files, durable only once SyncDir of their parent has run.
func (m *Mem) MkdirAll(path string, perm os.FileMode) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.root
	for _, e := range split(path) {
		c := n.children[e]
		if c == nil {
			c = newDir(perm)
			n.children[e] = c
		} else if !c.dir {
			return &os.PathError{Op: "mkdir", Path: path, Err: errors.New("not a directory")}
		}
		n = c
	}
	return nil
}

// ReadDir lists the names in a directory, sorted.
func (m *Mem) ReadDir(name string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.lookup(split(name))
	if n == nil {
		return nil, &os.PathError{Op: "readdir", Path: name, Err: os.ErrNotExist}
	}
	if !n.dir {
		return nil, &os.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	return sortedNames(n.children), nil
}

// Stat describes the named file or directory.
func (m *Mem) Stat(name string) (os.FileInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.lookup(split(name))
	if n == nil {
		return nil, &os.PathError{Op: "stat", Path: name, Err: os.ErrNotExist}
	}
	return n.info(filepath.Base(name)), nil
}

// SyncDir makes the directory's current entries durable.
func (m *Mem) SyncDir(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.syncErr != nil {
		return &os.PathError{Op: "sync", Path: name, Err: m.syncErr}
	}
	n := m.lookup(split(name))
	if n == nil {
		return &os.PathError{Op: "sync", Path: name, Err: os.ErrNotExist}
	}
	if !n.dir {
		return &os.PathError{Op: "sync", Path: name, Err: errors.New("not a directory")}
	}
	n.durable = make(map[string]*memNode, len(n.children))
	for k, v := range n.children {
		n.durable[k] = v
	}
	return nil
}

// Lock takes the lock on name (creating an empty file there if missing),
// unless a holder since the last Crash has it: the in-memory twin of
// flock(2), where a crash kills every holder.
func (m *Mem) Lock(name string) (Lock, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	dir, base, err := m.parent("lock", name)
	if err != nil {
		return nil, err
	}
	n := dir.children[base]
	switch {
	case n == nil:
		n = &memNode{mode: 0o644, shared: true}
		dir.children[base] = n
	case n.dir:
		return nil, &os.PathError{Op: "lock", Path: name, Err: errors.New("is a directory")}
	}
	if l := m.locks[n]; l != nil {
		return nil, &os.PathError{Op: "lock", Path: name, Err: ErrLocked}
	}
	if m.locks == nil {
		m.locks = map[*memNode]*memLock{}
	}
	l := &memLock{m: m, n: n}
	m.locks[n] = l
	return l, nil
}

// memLock is a lock held on a Mem file.
type memLock struct {
	m *Mem
	n *memNode
}

// Release drops the lock, unless a Crash already did (then a newer holder
// may have it, and keeps it).
func (l *memLock) Release() error {
	l.m.mu.Lock()
	defer l.m.mu.Unlock()
	if l.m.locks[l.n] == l {
		delete(l.m.locks, l.n)
	}
	return nil
}

// touch must be called before bytes at positions >= p change: it keeps the
// synced image intact (copy on write) and notes that the synced region was
// rewritten.
func (n *memNode) touch(p int) {
	if p >= len(n.synced) {
		return
	}
	if n.shared {
		n.synced = append([]byte(nil), n.synced...)
		n.shared = false
	}
	n.rewrote = true
}

func (n *memNode) truncate(size int) {
	if size < len(n.data) {
		n.touch(size)
		n.data = n.data[:size]
		return
	}
	n.writeAt(nil, size)
}

// writeAt writes b at off, filling any hole with zeros.
func (n *memNode) writeAt(b []byte, off int) {
	n.touch(off)
	end := off + len(b)
	if old := len(n.data); end > old {
		if end > cap(n.data) {
			grown := make([]byte, end, max(end, 2*cap(n.data)))
			copy(grown, n.data)
			n.data = grown
		} else {
			n.data = n.data[:end]
			// The backing array past the old length may hold bytes of an
			// earlier, longer life of the file.
			clear(n.data[old:end])
		}
	}
	copy(n.data[off:], b)
}

func (n *memNode) info(name string) os.FileInfo {
	return memInfo{name: name, size: int64(len(n.data)), mode: n.mode, mod: n.mod}
}

type memInfo struct {
	name string
	size int64
	mode os.FileMode
	mod  time.Time
}

func (i memInfo) Name() string       { return i.name }
func (i memInfo) Size() int64        { return i.size }
func (i memInfo) Mode() os.FileMode  { return i.mode }
func (i memInfo) ModTime() time.Time { return i.mod }
func (i memInfo) IsDir() bool        { return i.mode.IsDir() }
func (i memInfo) Sys() any           { return nil }

// memFile is an open handle on a memNode.
type memFile struct {
	m           *Mem
	n           *memNode
	gen         uint64
	name        string
	read, write bool
	app         bool
	pos         int64
	closed      bool
}

// check returns why the handle cannot be used, if it cannot. m.mu is held.
func (f *memFile) check(op string) error {
	switch {
	case f.closed:
		return &os.PathError{Op: op, Path: f.name, Err: os.ErrClosed}
	case f.gen != f.m.gen:
		return &os.PathError{Op: op, Path: f.name, Err: ErrFenced}
	}
	return nil
}

func (f *memFile) checkRead(op string) error {
	if err := f.check(op); err != nil {
		return err
	}
	if !f.read || f.n.dir {
		return &os.PathError{Op: op, Path: f.name, Err: errors.New("bad file descriptor")}
	}
	return nil
}

func (f *memFile) checkWrite(op string) error {
	if err := f.check(op); err != nil {
		return err
	}
	if !f.write {
		return &os.PathError{Op: op, Path: f.name, Err: errors.New("bad file descriptor")}
	}
	return nil
}

func (f *memFile) Name() string { return f.name }

func (f *memFile) Read(p []byte) (int, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.checkRead("read"); err != nil {
		return 0, err
	}
	if f.pos >= int64(len(f.n.data)) {
		return 0, io.EOF
	}
	k := copy(p, f.n.data[f.pos:])
	f.pos += int64(k)
	return k, nil
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.checkRead("read"); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, &os.PathError{Op: "read", Path: f.name, Err: os.ErrInvalid}
	}
	if off >= int64(len(f.n.data)) {
		return 0, io.EOF
	}
	k := copy(p, f.n.data[off:])
	if k < len(p) {
		return k, io.EOF
	}
	return k, nil
}

func (f *memFile) Write(p []byte) (int, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.checkWrite("write"); err != nil {
		return 0, err
	}
	if f.app {
		f.pos = int64(len(f.n.data))
	}
	f.n.writeAt(p, int(f.pos))
	f.pos += int64(len(p))
	return len(p), nil
}

func (f *memFile) WriteAt(p []byte, off int64) (int, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.checkWrite("write"); err != nil {
		return 0, err
	}
	if f.app {
		// As os.File: positional writes contradict O_APPEND.
		return 0, errors.New("fs: invalid use of WriteAt on file opened with O_APPEND")
	}
	if off < 0 {
		return 0, &os.PathError{Op: "write", Path: f.name, Err: os.ErrInvalid}
	}
	f.n.writeAt(p, int(off))
	return len(p), nil
}

func (f *memFile) Seek(offset int64, whence int) (int64, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.check("seek"); err != nil {
		return 0, err
	}
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = f.pos + offset
	case io.SeekEnd:
		abs = int64(len(f.n.data)) + offset
	default:
		return 0, &os.PathError{Op: "seek", Path: f.name, Err: os.ErrInvalid}
	}
	if abs < 0 {
		return 0, &os.PathError{Op: "seek", Path: f.name, Err: os.ErrInvalid}
	}
	f.pos = abs
	return abs, nil
}

func (f *memFile) Close() error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.check("close"); err != nil {
		return err
	}
	f.closed = true
	return nil
}

// Sync makes the file's bytes durable (not its name: see SyncDir).
func (f *memFile) Sync() error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.check("sync"); err != nil {
		return err
	}
	if f.m.syncErr != nil {
		return &os.PathError{Op: "sync", Path: f.name, Err: f.m.syncErr}
	}
	if f.n.dir {
		return nil
	}
	f.n.synced = f.n.data[:len(f.n.data):len(f.n.data)]
	f.n.shared = true
	f.n.rewrote = false
	return nil
}

func (f *memFile) Truncate(size int64) error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.checkWrite("truncate"); err != nil {
		return err
	}
	if size < 0 {
		return &os.PathError{Op: "truncate", Path: f.name, Err: os.ErrInvalid}
	}
	f.n.truncate(int(size))
	return nil
}

func (f *memFile) Stat() (os.FileInfo, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.check("stat"); err != nil {
		return nil, err
	}
	return f.n.info(filepath.Base(f.name)), nil
}

// generation counts the crashes so far: a FileCache over the Mem fences
// itself once it changes.
func (m *Mem) generation() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.gen
}
