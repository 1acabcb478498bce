package fs

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMemLock(t *testing.T) {
	m := NewMem()
	require.NoError(t, m.MkdirAll("/d", 0o755))
	require.NoError(t, m.SyncDir("/"))

	l, err := m.Lock("/d/.lock")
	require.NoError(t, err)
	_, err = m.Stat("/d/.lock")
	require.NoError(t, err, "the lock file is created")
	_, err = m.Lock("/d/.lock")
	require.ErrorIs(t, err, ErrLocked, "a second holder is refused")
	other, err := m.Lock("/d/other.lock")
	require.NoError(t, err, "another file's lock is independent")
	require.NoError(t, other.Release())

	require.NoError(t, l.Release())
	require.NoError(t, l.Release(), "releasing twice is harmless")
	l2, err := m.Lock("/d/.lock")
	require.NoError(t, err, "released, the lock can be taken again")

	// A crash kills the holder: the lock is free, and the dead holder's
	// late Release does not free the next holder's lock.
	m.Crash(CrashOptions{})
	l3, err := m.Lock("/d/.lock")
	require.NoError(t, err)
	require.NoError(t, l2.Release())
	_, err = m.Lock("/d/.lock")
	require.ErrorIs(t, err, ErrLocked)
	require.NoError(t, l3.Release())

	_, err = m.Lock("/missing/.lock")
	require.True(t, IsNotExist(err))
	_, err = m.Lock("/d")
	require.Error(t, err, "a directory is not a lock file")
}

func TestOSLockInProcess(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, ".lock")
	l, err := OS{}.Lock(name)
	require.NoError(t, err)
	_, err = OS{}.Lock(name)
	require.ErrorIs(t, err, ErrLocked)
	require.ErrorContains(t, err, name)
	// The same file under another path is the same lock.
	_, err = OS{}.Lock(filepath.Join(dir, ".", "..", filepath.Base(dir), ".lock"))
	require.ErrorIs(t, err, ErrLocked)

	require.NoError(t, l.Release())
	require.NoError(t, l.Release())
	l, err = OS{}.Lock(name)
	require.NoError(t, err)
	require.NoError(t, l.Release())
	_, err = OS{}.Stat(name)
	require.NoError(t, err, "the lock file stays")
}
