package fs

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// openN creates n files /d/<prefix>0 ... /d/<prefix><n-1> through c, each
// holding "file <i>", synced and durable.
func openN(t *testing.T, mem *Mem, c *FileCache, prefix string, n int) []File {
	t.Helper()
	require.NoError(t, c.MkdirAll("/d", 0o755))
	require.NoError(t, mem.SyncDir("/"))
	files := make([]File, n)
	for i := range files {
		f, err := c.OpenFile(fmt.Sprintf("/d/%s%d", prefix, i), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
		require.NoError(t, err)
		_, err = f.WriteAt([]byte(fmt.Sprintf("file %d", i)), 0)
		require.NoError(t, err)
		require.NoError(t, f.Sync())
		files[i] = f
		require.LessOrEqual(t, c.Stats().Open, 4, "after opening file %d", i)
	}
	require.NoError(t, mem.SyncDir("/d"))
	return files
}

func readAt(t *testing.T, f File) string {
	t.Helper()
	info, err := f.Stat()
	require.NoError(t, err)
	b := make([]byte, info.Size())
	_, err = f.ReadAt(b, 0)
	require.NoError(t, err)
	return string(b)
}

func TestFileCacheBoundsDescriptors(t *testing.T) {
	mem := NewMem()
	c := NewFileCache(mem, 4)
	files := openN(t, mem, c, "f", 50)
	for round := range 3 {
		for i, f := range files {
			require.Equal(t, fmt.Sprintf("file %d", i), readAt(t, f), "round %d", round)
			require.LessOrEqual(t, c.Stats().Open, 4)
		}
	}
	s := c.Stats()
	assert.Equal(t, uint64(50), s.Opens)
	assert.Greater(t, s.Reopens, uint64(100), "the handles took turns")
	assert.Equal(t, uint64(0), s.EvictionSyncs, "every file was synced before it was evicted")
	for _, f := range files {
		require.NoError(t, f.Close())
	}
	assert.Equal(t, 0, c.Stats().Open)
	_, err := files[0].ReadAt(make([]byte, 1), 0)
	assert.ErrorIs(t, err, os.ErrClosed)
}

// evicted says whether a handle's descriptor is closed.
func evicted(f File) bool {
	h := f.(*cachedFile)
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.f == nil
}

// dirtyFiles creates n files /d/<prefix><i> whose names are durable and
// whose bytes are not.
func dirtyFiles(t *testing.T, mem *Mem, c *FileCache, prefix string, n int) []File {
	t.Helper()
	files := make([]File, n)
	for i := range files {
		f, err := c.OpenFile(fmt.Sprintf("/d/%s%d", prefix, i), os.O_RDWR|os.O_CREATE, 0o644)
		require.NoError(t, err)
		_, err = f.WriteAt([]byte("unsynced"), 0)
		require.NoError(t, err)
		files[i] = f
	}
	require.NoError(t, mem.SyncDir("/d"))
	return files
}

func TestFileCacheEvictsCleanFilesFirst(t *testing.T) {
	mem := NewMem()
	c := NewFileCache(mem, 4)
	files := openN(t, mem, c, "f", 4)
	_, err := files[0].WriteAt([]byte("+unsynced"), 6)
	require.NoError(t, err)
	openN(t, mem, c, "g", 12)
	assert.False(t, evicted(files[0]), "the dirty handle stayed open while clean ones could go")
	assert.Equal(t, uint64(0), c.Stats().EvictionSyncs)
}

func TestFileCacheEvictionSyncsUnsyncedBytes(t *testing.T) {
	mem := NewMem()
	c := NewFileCache(mem, 4)
	files := openN(t, mem, c, "f", 4)
	_, err := files[0].WriteAt([]byte("+unsynced"), 6)
	require.NoError(t, err)
	dirtyFiles(t, mem, c, "g", 12) // no clean handle to take instead
	require.True(t, evicted(files[0]))
	assert.GreaterOrEqual(t, c.Stats().EvictionSyncs, uint64(1))
	assert.NoError(t, files[0].Sync(), "an evicted handle is clean")

	mem.Crash(CrashOptions{})
	b, err := ReadFile(mem, "/d/f0")
	require.NoError(t, err)
	assert.Equal(t, "file 0+unsynced", string(b), "eviction made the written bytes durable")
}

func TestFileCacheFailedEvictionSyncSticks(t *testing.T) {
	mem := NewMem()
	c := NewFileCache(mem, 4)
	files := openN(t, mem, c, "f", 4)
	_, err := files[0].WriteAt([]byte("+lost?"), 6)
	require.NoError(t, err)
	eio := errors.New("EIO")
	mem.FailSync(eio)
	for i := range 8 { // evicts files[0], whose fsync fails
		f, err := c.OpenFile(fmt.Sprintf("/d/g%d", i), os.O_RDWR|os.O_CREATE, 0o644)
		require.NoError(t, err)
		_, err = f.WriteAt([]byte("unsynced"), 0)
		require.NoError(t, err)
	}
	mem.FailSync(nil)
	require.True(t, evicted(files[0]))
	require.ErrorIs(t, files[0].Sync(), eio, "the owner learns its bytes may be lost")
	_, err = files[0].WriteAt([]byte("x"), 0)
	assert.ErrorIs(t, err, eio)
	_, err = files[0].ReadAt(make([]byte, 1), 0)
	assert.ErrorIs(t, err, eio)
	assert.NoError(t, files[1].Sync(), "other handles are not affected")
}

func TestFileCacheHandleFollowsRename(t *testing.T) {
	mem := NewMem()
	c := NewFileCache(mem, 4)
	files := openN(t, mem, c, "f", 8) // files[0] is evicted by now
	require.NoError(t, c.Rename("/d/f0", "/d/renamed"))
	assert.Equal(t, "file 0", readAt(t, files[0]))
	assert.Equal(t, "/d/renamed", files[0].Name())

	// A directory: the handles under it follow too.
	openN(t, mem, c, "g", 8)
	require.NoError(t, c.MkdirAll("/e", 0o755))
	require.NoError(t, c.Rename("/d", "/e/d"))
	for i := 1; i < 8; i++ {
		assert.Equal(t, fmt.Sprintf("file %d", i), readAt(t, files[i]))
		assert.Equal(t, fmt.Sprintf("/e/d/f%d", i), files[i].Name())
	}
}

func TestFileCacheRemovedOrReplacedFileStaysReadable(t *testing.T) {
	mem := NewMem()
	c := NewFileCache(mem, 4)
	files := openN(t, mem, c, "f", 8) // files[0] and [1] are evicted by now
	require.NoError(t, c.Remove("/d/f0"))

	tmp, err := c.OpenFile("/d/tmp", os.O_RDWR|os.O_CREATE, 0o644)
	require.NoError(t, err)
	_, err = tmp.Write([]byte("new contents"))
	require.NoError(t, err)
	require.NoError(t, tmp.Close())
	require.NoError(t, c.Rename("/d/tmp", "/d/f1"))

	openN(t, mem, c, "g", 8) // plenty of evictions: the pinned handles stay
	assert.Equal(t, "file 0", readAt(t, files[0]), "a removed file reads on, as through an open descriptor")
	assert.Equal(t, "file 1", readAt(t, files[1]), "a replaced file reads on")
	b, err := ReadFile(c, "/d/f1")
	require.NoError(t, err)
	assert.Equal(t, "new contents", string(b))

	open := c.Stats().Open
	require.NoError(t, files[0].Close())
	require.NoError(t, files[1].Close())
	assert.Equal(t, open-2, c.Stats().Open, "pinned descriptors close with their handles")

	// A whole directory removed under evicted handles.
	require.True(t, evicted(files[2]))
	require.NoError(t, c.RemoveAll("/d"))
	assert.Equal(t, "file 2", readAt(t, files[2]))
	_, err = c.Stat("/d")
	assert.True(t, IsNotExist(err))
}

func TestFileCacheFencedByCrash(t *testing.T) {
	mem := NewMem()
	c := NewFileCache(mem, 4)
	files := openN(t, mem, c, "f", 8)
	mem.Crash(CrashOptions{})
	for _, f := range []File{files[0], files[7]} { // evicted and open
		_, err := f.ReadAt(make([]byte, 1), 0)
		assert.ErrorIs(t, err, ErrFenced)
		assert.ErrorIs(t, f.Sync(), ErrFenced)
	}
	_, err := c.OpenFile("/d/new", os.O_RDWR|os.O_CREATE, 0o644)
	assert.ErrorIs(t, err, ErrFenced, "the cache belongs to the process that lost power")

	c2 := NewFileCache(mem, 4)
	b, err := ReadFile(c2, "/d/f0")
	require.NoError(t, err)
	assert.Equal(t, "file 0", string(b), "a new process reads what the disk kept")
}

func TestFileCachePositions(t *testing.T) {
	mem := NewMem()
	c := NewFileCache(mem, 4)
	require.NoError(t, c.MkdirAll("/d", 0o755))
	f, err := c.OpenFile("/d/pos", os.O_RDWR|os.O_CREATE, 0o644)
	require.NoError(t, err)
	evict := func() {
		for i := range 6 {
			g, err := c.OpenFile(fmt.Sprintf("/d/e%d", i), os.O_RDWR|os.O_CREATE, 0o644)
			require.NoError(t, err)
			require.NoError(t, g.Close())
		}
	}
	_, err = f.Write([]byte("hello "))
	require.NoError(t, err)
	evict()
	_, err = f.Write([]byte("world"))
	require.NoError(t, err)
	_, err = f.Seek(0, io.SeekStart)
	require.NoError(t, err)
	evict()
	b, err := io.ReadAll(f)
	require.NoError(t, err)
	assert.Equal(t, "hello world", string(b))
	end, err := f.Seek(-5, io.SeekEnd)
	require.NoError(t, err)
	assert.Equal(t, int64(6), end)
	buf := make([]byte, 5)
	n, err := f.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "world", string(buf[:n]))

	a, err := c.OpenFile("/d/app", os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	require.NoError(t, err)
	_, err = a.Write([]byte("one "))
	require.NoError(t, err)
	evict()
	_, err = a.Write([]byte("two"))
	require.NoError(t, err)
	_, err = a.WriteAt([]byte("x"), 0)
	assert.Error(t, err, "positional writes contradict O_APPEND")
	b, err = ReadFile(c, "/d/app")
	require.NoError(t, err)
	assert.Equal(t, "one two", string(b))
}

// TestFileCacheConcurrent has goroutines write, sync, read and verify their
// own files through a small cache, with other goroutines reading all of
// them, and checks the contents and the bound at the end.
func TestFileCacheConcurrent(t *testing.T) {
	seed := uint64(7)
	t.Logf("seed %d", seed)
	mem := NewMem()
	c := NewFileCache(mem, 6)
	require.NoError(t, c.MkdirAll("/d", 0o755))
	const writers, perWriter = 6, 5
	files := make([]File, writers*perWriter)
	for i := range files {
		f, err := c.OpenFile(fmt.Sprintf("/d/f%d", i), os.O_RDWR|os.O_CREATE, 0o644)
		require.NoError(t, err)
		files[i] = f
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, uint64(w)))
			lens := make([]int, perWriter)
			for range 300 {
				i := r.IntN(perWriter)
				f := files[w*perWriter+i]
				chunk := []byte(strings.Repeat(string(rune('a'+i)), 1+r.IntN(8)))
				if _, err := f.WriteAt(chunk, int64(lens[i])); err != nil {
					errs <- err
					return
				}
				lens[i] += len(chunk)
				if r.IntN(4) == 0 {
					if err := f.Sync(); err != nil {
						errs <- err
						return
					}
				}
				b := make([]byte, lens[i])
				if _, err := f.ReadAt(b, 0); err != nil {
					errs <- err
					return
				}
				if want := strings.Repeat(string(rune('a'+i)), lens[i]); string(b) != want {
					errs <- fmt.Errorf("file %d: read %q, want %q", w*perWriter+i, b, want)
					return
				}
			}
		}()
	}
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, uint64(100+g)))
			for range 300 {
				if _, err := files[r.IntN(len(files))].Stat(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.LessOrEqual(t, c.Stats().Open, 6)
	for _, f := range files {
		require.NoError(t, f.Close())
	}
	assert.Equal(t, 0, c.Stats().Open)
}

// openDescriptorsUnder counts this process's descriptors on files under dir.
func openDescriptorsUnder(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	n := 0
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err == nil && strings.HasPrefix(target, dir+string(filepath.Separator)) {
			n++
		}
	}
	return n
}

func TestFileCacheOSDescriptors(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("counts descriptors through /proc/self/fd")
	}
	dir := t.TempDir()
	c := NewFileCache(OS{}, 8)
	var files []File
	for i := range 100 {
		f, err := c.OpenFile(filepath.Join(dir, fmt.Sprintf("f%d", i)), os.O_RDWR|os.O_CREATE, 0o644)
		require.NoError(t, err)
		_, err = f.WriteAt([]byte(fmt.Sprintf("file %d", i)), 0)
		require.NoError(t, err)
		files = append(files, f)
	}
	require.LessOrEqual(t, openDescriptorsUnder(t, dir), 8)
	for i, f := range files {
		require.Equal(t, fmt.Sprintf("file %d", i), readAt(t, f))
	}
	require.LessOrEqual(t, openDescriptorsUnder(t, dir), 8)
	assert.Greater(t, c.Stats().EvictionSyncs, uint64(0), "unsynced files were fsynced on eviction")

	// POSIX semantics survive eviction on the real disk too.
	require.NoError(t, c.Remove(filepath.Join(dir, "f0")))
	assert.Equal(t, "file 0", readAt(t, files[0]))
	for _, f := range files {
		require.NoError(t, f.Close())
	}
	assert.Equal(t, 0, openDescriptorsUnder(t, dir))
}

func TestIsUnder(t *testing.T) {
	for _, tt := range []struct {
		name, dir string
		want      bool
	}{
		{"/a/b", "/a", true},
		{"/a/b/c", "/a", true},
		{"/ab", "/a", false},
		{"/a", "/a", false},
		{"/x", "/", true},
		{"a/b", "a", true},
	} {
		assert.Equal(t, tt.want, isUnder(tt.name, tt.dir), "%s under %s", tt.name, tt.dir)
	}
}
