package fs

import (
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
)

// cachedFile is a handle of a FileCache.
type cachedFile struct {
	c    *FileCache
	flag int  // for reopening: without O_CREATE, O_EXCL, O_TRUNC
	app  bool // O_APPEND
	used atomic.Bool

	// name is guarded by c.nameMu and c.mu (a writer holds both).
	name string
	// ringIdx is guarded by c.mu; -1 when off the clock's face.
	ringIdx int

	mu   sync.Mutex
	cond *sync.Cond // broadcast when busy clears
	f    File       // nil while evicted
	// busy: the descriptor is being opened or closed; wait for it.
	busy   bool
	refs   int // operations in flight
	closed bool
	// pinned: the file lost its name while this handle was live; the
	// descriptor stays open until Close.
	pinned bool
	// err, once set (a failed fsync at eviction, a failed reopen before a
	// removal), is returned by every later call.
	err error
	// dirty: bytes written through the handle may not be durable. writing
	// counts writes in flight and wseq the writes finished, so a Sync
	// clears dirty only if no write ran alongside it.
	dirty   bool
	writing int
	wseq    uint64
	pos     int64
}

var _ File = (*cachedFile)(nil)

// acquire returns the handle's descriptor for one operation, reopening it if
// it was evicted. release must follow.
func (h *cachedFile) acquire(op string, write bool) (File, error) {
	if !h.used.Load() {
		h.used.Store(true)
	}
	if h.c.isFenced() {
		return nil, &os.PathError{Op: op, Path: h.Name(), Err: ErrFenced}
	}
	h.mu.Lock()
	for {
		switch {
		case h.closed:
			h.mu.Unlock()
			return nil, &os.PathError{Op: op, Path: h.Name(), Err: os.ErrClosed}
		case h.err != nil:
			err := h.err
			h.mu.Unlock()
			return nil, err
		case h.busy:
			h.cond.Wait()
			continue
		case h.f == nil:
			h.busy = true
			h.mu.Unlock()
			f, err := h.c.openDescriptor(h)
			h.mu.Lock()
			h.busy = false
			h.cond.Broadcast()
			if err != nil {
				h.mu.Unlock()
				return nil, err
			}
			h.f = f
			h.mu.Unlock()
			// Onto the clock's face, unless a Close or a pin came in
			// between (c.mu comes before h.mu).
			h.c.mu.Lock()
			h.mu.Lock()
			if h.f != nil && !h.closed && !h.pinned {
				h.c.addRingLocked(h)
			}
			h.c.mu.Unlock()
			continue // re-check: it may have been closed or picked meanwhile
		}
		break
	}
	h.refs++
	if write {
		h.writing++
		h.dirty = true
	}
	f := h.f
	h.mu.Unlock()
	return f, nil
}

func (h *cachedFile) release(write bool) {
	h.mu.Lock()
	h.refs--
	if write {
		h.writing--
		h.wseq++
	}
	h.mu.Unlock()
	h.c.evictExcess()
}

// Name is the file's current name (it follows renames).
func (h *cachedFile) Name() string {
	h.c.mu.Lock()
	defer h.c.mu.Unlock()
	return h.name
}

func (h *cachedFile) ReadAt(p []byte, off int64) (int, error) {
	f, err := h.acquire("read", false)
	if err != nil {
		return 0, err
	}
	defer h.release(false)
	return f.ReadAt(p, off)
}

func (h *cachedFile) WriteAt(p []byte, off int64) (int, error) {
	if h.app {
		// As os.File: positional writes contradict O_APPEND.
		return 0, errors.New("fs: invalid use of WriteAt on file opened with O_APPEND")
	}
	f, err := h.acquire("write", true)
	if err != nil {
		return 0, err
	}
	defer h.release(true)
	return f.WriteAt(p, off)
}

func (h *cachedFile) Read(p []byte) (int, error) {
	f, err := h.acquire("read", false)
	if err != nil {
		return 0, err
	}
	defer h.release(false)
	h.mu.Lock()
	pos := h.pos
	h.mu.Unlock()
	n, err := f.ReadAt(p, pos)
	h.mu.Lock()
	h.pos += int64(n)
	h.mu.Unlock()
	if n > 0 && errors.Is(err, io.EOF) {
		err = nil // Read reports EOF only when it reads nothing
	}
	return n, err
}

func (h *cachedFile) Write(p []byte) (int, error) {
	f, err := h.acquire("write", true)
	if err != nil {
		return 0, err
	}
	defer h.release(true)
	var n int
	if h.app {
		n, err = f.Write(p) // the descriptor appends, wherever it stands
		if info, serr := f.Stat(); serr == nil {
			h.mu.Lock()
			h.pos = info.Size()
			h.mu.Unlock()
		}
		return n, err
	}
	h.mu.Lock()
	pos := h.pos
	h.mu.Unlock()
	n, err = f.WriteAt(p, pos)
	h.mu.Lock()
	h.pos += int64(n)
	h.mu.Unlock()
	return n, err
}

func (h *cachedFile) Seek(offset int64, whence int) (int64, error) {
	name := h.Name()
	h.mu.Lock()
	base := h.pos
	h.mu.Unlock()
	switch whence {
	case io.SeekStart:
		base = 0
	case io.SeekCurrent:
	case io.SeekEnd:
		info, err := h.Stat()
		if err != nil {
			return 0, err
		}
		base = info.Size()
	default:
		return 0, &os.PathError{Op: "seek", Path: name, Err: os.ErrInvalid}
	}
	if base+offset < 0 {
		return 0, &os.PathError{Op: "seek", Path: name, Err: os.ErrInvalid}
	}
	if h.c.isFenced() {
		return 0, &os.PathError{Op: "seek", Path: name, Err: ErrFenced}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return 0, &os.PathError{Op: "seek", Path: name, Err: os.ErrClosed}
	}
	h.pos = base + offset
	return h.pos, nil
}

func (h *cachedFile) Truncate(size int64) error {
	f, err := h.acquire("truncate", true)
	if err != nil {
		return err
	}
	defer h.release(true)
	return f.Truncate(size)
}

func (h *cachedFile) Stat() (os.FileInfo, error) {
	f, err := h.acquire("stat", false)
	if err != nil {
		return nil, err
	}
	defer h.release(false)
	return f.Stat()
}

// Sync fsyncs what was written through the handle. An evicted handle was
// synced when it was closed (or carries the failure), so it is not reopened.
func (h *cachedFile) Sync() error {
	if h.c.isFenced() {
		return &os.PathError{Op: "sync", Path: h.Name(), Err: ErrFenced}
	}
	h.mu.Lock()
	if h.f == nil && !h.busy && !h.closed && h.err == nil && !h.dirty {
		h.mu.Unlock()
		return nil
	}
	h.mu.Unlock()
	f, err := h.acquire("sync", false)
	if err != nil {
		return err
	}
	h.mu.Lock()
	quiet, seq := h.writing == 0, h.wseq
	h.mu.Unlock()
	err = f.Sync()
	h.mu.Lock()
	if err == nil && quiet && h.writing == 0 && h.wseq == seq {
		h.dirty = false
	}
	h.mu.Unlock()
	h.release(false)
	return err
}

// Close closes the handle (and its descriptor, if open). It does not sync.
func (h *cachedFile) Close() error {
	h.mu.Lock()
	for h.busy {
		h.cond.Wait()
	}
	if h.closed {
		h.mu.Unlock()
		return &os.PathError{Op: "close", Path: h.Name(), Err: os.ErrClosed}
	}
	h.closed = true
	f := h.f
	h.f = nil
	h.mu.Unlock()
	c := h.c
	c.mu.Lock()
	c.removeRingLocked(h)
	c.removeNameLocked(h)
	if f != nil {
		c.open--
		c.countsChangedLocked()
	}
	c.mu.Unlock()
	var err error
	if f != nil {
		err = f.Close()
	}
	if c.isFenced() {
		err = &os.PathError{Op: "close", Path: h.Name(), Err: ErrFenced}
	}
	return err
}
