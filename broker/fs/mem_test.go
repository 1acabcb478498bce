package fs

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeFile(t *testing.T, fsys FS, name string, data []byte, sync bool) File {
	t.Helper()
	f, err := fsys.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	require.NoError(t, err)
	_, err = f.Write(data)
	require.NoError(t, err)
	if sync {
		require.NoError(t, f.Sync())
	}
	return f
}

func readFile(t *testing.T, fsys FS, name string) []byte {
	t.Helper()
	b, err := ReadFile(fsys, name)
	require.NoError(t, err)
	return b
}

func TestMemCrashContents(t *testing.T) {
	tests := []struct {
		name string
		// run acts on a durable file "/d/f" that holds "base" (synced).
		run  func(t *testing.T, f File)
		want string
	}{
		{"synced append survives", func(t *testing.T, f File) {
			_, err := f.WriteAt([]byte("+more"), 4)
			require.NoError(t, err)
			require.NoError(t, f.Sync())
		}, "base+more"},
		{"unsynced append is lost", func(t *testing.T, f File) {
			_, err := f.WriteAt([]byte("+more"), 4)
			require.NoError(t, err)
		}, "base"},
		{"unsynced overwrite of synced bytes is lost", func(t *testing.T, f File) {
			_, err := f.WriteAt([]byte("XY"), 1)
			require.NoError(t, err)
		}, "base"},
		{"unsynced truncate is lost", func(t *testing.T, f File) {
			require.NoError(t, f.Truncate(1))
			_, err := f.WriteAt([]byte("zzzz"), 1)
			require.NoError(t, err)
		}, "base"},
		{"synced truncate survives", func(t *testing.T, f File) {
			require.NoError(t, f.Truncate(2))
			require.NoError(t, f.Sync())
		}, "ba"},
		{"sync then unsynced append", func(t *testing.T, f File) {
			_, err := f.WriteAt([]byte("12"), 4)
			require.NoError(t, err)
			require.NoError(t, f.Sync())
			_, err = f.WriteAt([]byte("34"), 6)
			require.NoError(t, err)
		}, "base12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMem()
			require.NoError(t, m.MkdirAll("/d", 0o755))
			require.NoError(t, m.SyncDir("/"))
			f := writeFile(t, m, "/d/f", []byte("base"), true)
			require.NoError(t, m.SyncDir("/d"))
			tt.run(t, f)
			m.Crash(CrashOptions{})
			assert.Equal(t, tt.want, string(readFile(t, m, "/d/f")))
		})
	}
}

func TestMemCrashDirectoryEntries(t *testing.T) {
	setup := func(t *testing.T) *Mem {
		m := NewMem()
		require.NoError(t, m.MkdirAll("/d", 0o755))
		require.NoError(t, m.SyncDir("/"))
		f := writeFile(t, m, "/d/old", []byte("old"), true)
		require.NoError(t, f.Close())
		require.NoError(t, m.SyncDir("/d"))
		return m
	}
	tests := []struct {
		name string
		run  func(t *testing.T, m *Mem)
		want map[string]string // name -> contents after the crash
	}{
		{"created and synced file without SyncDir vanishes", func(t *testing.T, m *Mem) {
			writeFile(t, m, "/d/new", []byte("x"), true)
		}, map[string]string{"old": "old"}},
		{"created file with SyncDir but no Sync is empty", func(t *testing.T, m *Mem) {
			writeFile(t, m, "/d/new", []byte("x"), false)
			require.NoError(t, m.SyncDir("/d"))
		}, map[string]string{"old": "old", "new": ""}},
		{"created, synced, SyncDir survives", func(t *testing.T, m *Mem) {
			writeFile(t, m, "/d/new", []byte("x"), true)
			require.NoError(t, m.SyncDir("/d"))
		}, map[string]string{"old": "old", "new": "x"}},
		{"removal without SyncDir is undone", func(t *testing.T, m *Mem) {
			require.NoError(t, m.Remove("/d/old"))
		}, map[string]string{"old": "old"}},
		{"removal with SyncDir sticks", func(t *testing.T, m *Mem) {
			require.NoError(t, m.Remove("/d/old"))
			require.NoError(t, m.SyncDir("/d"))
		}, map[string]string{}},
		{"rename over without SyncDir is undone", func(t *testing.T, m *Mem) {
			writeFile(t, m, "/d/tmp", []byte("new"), true)
			require.NoError(t, m.Rename("/d/tmp", "/d/old"))
		}, map[string]string{"old": "old"}},
		{"atomic replace: sync, rename, SyncDir", func(t *testing.T, m *Mem) {
			writeFile(t, m, "/d/tmp", []byte("new"), true)
			require.NoError(t, m.Rename("/d/tmp", "/d/old"))
			require.NoError(t, m.SyncDir("/d"))
		}, map[string]string{"old": "new"}},
		{"SyncDir of the wrong directory does not help", func(t *testing.T, m *Mem) {
			writeFile(t, m, "/d/new", []byte("x"), true)
			require.NoError(t, m.SyncDir("/"))
		}, map[string]string{"old": "old"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := setup(t)
			tt.run(t, m)
			m.Crash(CrashOptions{})
			names, err := m.ReadDir("/d")
			require.NoError(t, err)
			got := map[string]string{}
			for _, n := range names {
				got[n] = string(readFile(t, m, filepath.Join("/d", n)))
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestMemCrashUndurableDirectoryVanishes(t *testing.T) {
	m := NewMem()
	require.NoError(t, m.MkdirAll("/a/b", 0o755))
	writeFile(t, m, "/a/b/f", []byte("x"), true)
	require.NoError(t, m.SyncDir("/a/b"))
	require.NoError(t, m.SyncDir("/a")) // /a/b is durable in /a, but /a is not in /
	m.Crash(CrashOptions{})
	_, err := m.Stat("/a")
	assert.True(t, IsNotExist(err), "got %v", err)
}

func TestMemCrashTornWrite(t *testing.T) {
	seed := uint64(42)
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, seed))
	sizes := map[int]bool{}
	for i := range 200 {
		m := NewMem()
		f := writeFile(t, m, "/f", []byte("synced|"), true)
		require.NoError(t, m.SyncDir("/"))
		tail := []byte(fmt.Sprintf("unsynced-%03d", i))
		_, err := f.WriteAt(tail, 7)
		require.NoError(t, err)
		m.Crash(CrashOptions{TearLastWrite: true, Rand: r})
		got := readFile(t, m, "/f")
		full := append([]byte("synced|"), tail...)
		require.GreaterOrEqual(t, len(got), 7)
		require.Equal(t, full[:len(got)], got, "a torn write keeps a prefix")
		sizes[len(got)] = true
	}
	assert.Greater(t, len(sizes), 5, "tears land at many lengths")
	assert.True(t, sizes[7] && sizes[7+len("unsynced-000")], "tears include nothing and everything")
}

func TestMemCrashTornWriteNotAfterRewrite(t *testing.T) {
	m := NewMem()
	f := writeFile(t, m, "/f", []byte("abcd"), true)
	require.NoError(t, m.SyncDir("/"))
	_, err := f.WriteAt([]byte("XYZ-appended"), 2)
	require.NoError(t, err)
	for range 20 {
		m.Crash(CrashOptions{TearLastWrite: true})
	}
	assert.Equal(t, "abcd", string(readFile(t, m, "/f")))
}

func TestMemCrashFencesHandles(t *testing.T) {
	m := NewMem()
	f := writeFile(t, m, "/f", []byte("data"), true)
	require.NoError(t, m.SyncDir("/"))
	m.Crash(CrashOptions{})
	ops := map[string]func() error{
		"read":     func() error { _, err := f.ReadAt(make([]byte, 1), 0); return err },
		"write":    func() error { _, err := f.Write([]byte("x")); return err },
		"writeAt":  func() error { _, err := f.WriteAt([]byte("x"), 0); return err },
		"sync":     f.Sync,
		"truncate": func() error { return f.Truncate(0) },
		"stat":     func() error { _, err := f.Stat(); return err },
		"seek":     func() error { _, err := f.Seek(0, 0); return err },
		"close":    f.Close,
	}
	for name, op := range ops {
		assert.ErrorIs(t, op(), ErrFenced, name)
	}
	assert.Equal(t, "data", string(readFile(t, m, "/f")), "fenced handles changed nothing")
}

func TestMemFailSync(t *testing.T) {
	m := NewMem()
	boom := errors.New("boom")
	f := writeFile(t, m, "/f", []byte("a"), true)
	require.NoError(t, m.SyncDir("/"))
	m.FailSync(boom)
	_, err := f.Write([]byte("b"))
	require.NoError(t, err)
	assert.ErrorIs(t, f.Sync(), boom)
	assert.ErrorIs(t, m.SyncDir("/"), boom)
	m.FailSync(nil)
	m.Crash(CrashOptions{})
	assert.Equal(t, "a", string(readFile(t, m, "/f")), "a failed sync made nothing durable")
}

func TestMemFileSemantics(t *testing.T) {
	m := NewMem()
	_, err := m.OpenFile("/missing/f", os.O_RDWR|os.O_CREATE, 0o644)
	assert.True(t, IsNotExist(err))
	_, err = m.OpenFile("/f", os.O_RDONLY, 0)
	assert.True(t, IsNotExist(err))

	f := writeFile(t, m, "/f", []byte("hello"), false)
	_, err = m.OpenFile("/f", os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	assert.ErrorIs(t, err, os.ErrExist)

	_, err = f.WriteAt([]byte("!"), 8) // leaves a hole of zeros
	require.NoError(t, err)
	assert.Equal(t, "hello\x00\x00\x00!", string(readFile(t, m, "/f")))
	require.NoError(t, f.Truncate(3))
	require.NoError(t, f.Truncate(5))
	assert.Equal(t, "hel\x00\x00", string(readFile(t, m, "/f")), "regrown bytes are zero")

	buf := make([]byte, 10)
	n, err := f.ReadAt(buf, 2)
	assert.Equal(t, 3, n)
	assert.Error(t, err, "short ReadAt reports EOF")

	info, err := m.Stat("/f")
	require.NoError(t, err)
	assert.Equal(t, int64(5), info.Size())
	assert.Equal(t, "f", info.Name())

	ro, err := m.OpenFile("/f", os.O_RDONLY, 0)
	require.NoError(t, err)
	_, err = ro.Write([]byte("x"))
	assert.Error(t, err)
	require.NoError(t, ro.Close())
	_, err = ro.ReadAt(buf, 0)
	assert.ErrorIs(t, err, os.ErrClosed)

	ap, err := m.OpenFile("/f", os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = ap.Write([]byte("Z"))
	require.NoError(t, err)
	assert.Equal(t, "hel\x00\x00Z", string(readFile(t, m, "/f")))

	require.NoError(t, m.MkdirAll("/d/e", 0o755))
	writeFile(t, m, "/d/b", nil, false)
	writeFile(t, m, "/d/a", nil, false)
	names, err := m.ReadDir("/d")
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b", "e"}, names)
	assert.Error(t, m.Remove("/d"), "not empty")
	require.NoError(t, m.RemoveAll("/d"))
	_, err = m.Stat("/d")
	assert.True(t, IsNotExist(err))
}

func TestMemConcurrent(t *testing.T) {
	m := NewMem()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("/f%d", i)
			f, err := m.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
			if !assert.NoError(t, err) {
				return
			}
			for j := range 100 {
				_, _ = f.WriteAt([]byte{byte(j)}, int64(j))
				_ = f.Sync()
				_ = m.SyncDir("/")
				_, _ = f.ReadAt(make([]byte, 1), 0)
				if i == 0 && j%10 == 0 {
					m.Crash(CrashOptions{TearLastWrite: true})
				}
			}
		}()
	}
	wg.Wait()
}

func TestOS(t *testing.T) {
	dir := t.TempDir()
	var fsys FS = NewOS()
	require.NoError(t, fsys.MkdirAll(filepath.Join(dir, "p"), 0o755))
	f := writeFile(t, fsys, filepath.Join(dir, "p", "b"), []byte("hi"), true)
	require.NoError(t, f.Close())
	writeFile(t, fsys, filepath.Join(dir, "p", "a"), nil, false).Close()
	require.NoError(t, fsys.SyncDir(filepath.Join(dir, "p")))
	names, err := fsys.ReadDir(filepath.Join(dir, "p"))
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, names)
	require.NoError(t, fsys.Rename(filepath.Join(dir, "p", "b"), filepath.Join(dir, "p", "a")))
	assert.Equal(t, "hi", string(readFile(t, fsys, filepath.Join(dir, "p", "a"))))
	_, err = fsys.OpenFile(filepath.Join(dir, "p", "zz"), os.O_RDONLY, 0)
	assert.True(t, IsNotExist(err))
	require.NoError(t, fsys.RemoveAll(filepath.Join(dir, "p")))
}
