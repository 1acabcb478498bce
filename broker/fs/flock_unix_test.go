//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package fs

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// lockHelperEnv makes this test binary, re-executed, a process that takes
// the lock named by the variable, says so on stdout and holds it until
// killed (or until stdin closes).
const lockHelperEnv = "ORDO_FS_LOCK_HELPER"

func TestMain(m *testing.M) {
	if name := os.Getenv(lockHelperEnv); name != "" {
		os.Exit(lockHelper(name))
	}
	os.Exit(m.Run())
}

func lockHelper(name string) int {
	l, err := OS{}.Lock(name)
	if err != nil {
		fmt.Println("error:", err)
		return 3
	}
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = l.Release()
	return 0
}

// lockerProcess starts a helper process that locks name. It returns the
// helper and its first line of output.
func lockerProcess(t *testing.T, name string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), lockHelperEnv+"="+name)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	return cmd, strings.TrimSpace(line)
}

func TestOSLockAcrossProcesses(t *testing.T) {
	name := filepath.Join(t.TempDir(), ".lock")

	// This process holds it: another process is refused.
	l, err := OS{}.Lock(name)
	require.NoError(t, err)
	cmd, out := lockerProcess(t, name)
	require.Contains(t, out, "lock is held by another process")
	require.Error(t, cmd.Wait())
	require.NoError(t, l.Release())

	// Another process holds it: this one is refused, until that process
	// dies (killed, it never releases: the kernel does).
	cmd, out = lockerProcess(t, name)
	require.Equal(t, "locked", out)
	_, err = OS{}.Lock(name)
	require.ErrorIs(t, err, ErrLocked)
	require.ErrorContains(t, err, "by another process")
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	l, err = OS{}.Lock(name)
	require.NoError(t, err, "a dead process's lock is gone")
	require.NoError(t, l.Release())
}
