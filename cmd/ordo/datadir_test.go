package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSecondOrdoOnOneDataDir: while one ordo process runs on a data
// directory, a second one on the same directory refuses to start, says which
// directory and why, and exits 1; the first keeps running and, once it has
// stopped, the directory can be used again.
func TestSecondOrdoOnOneDataDir(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no flock or SIGTERM on windows")
	}
	dir := filepath.Join(t.TempDir(), "data")
	first := startOrdo(t, "--listen", "127.0.0.1:0", "--data-dir", dir)

	out, err := mainCommand(t, "--listen", "127.0.0.1:0", "--data-dir", dir).CombinedOutput()
	require.Equal(t, 1, exitCode(t, err), "output: %s", out)
	require.Contains(t, string(out), "cannot start broker")
	require.Contains(t, string(out), dir+" is in use by another broker")
	require.Contains(t, string(out), "lock is held by another process")

	require.NoError(t, first.Process.Signal(syscall.SIGTERM))
	require.Equal(t, 0, exitCode(t, first.Wait()))
	again := startOrdo(t, "--listen", "127.0.0.1:0", "--data-dir", dir)
	require.NoError(t, again.Process.Signal(syscall.SIGTERM))
	require.Equal(t, 0, exitCode(t, again.Wait()))
}

// TestOrdoRefusesDamagedMetadataLog: a metadata log damaged before its end
// (intact changes follow the damage) makes ordo exit 1 with a message that
// names the file and the offset.
func TestOrdoRefusesDamagedMetadataLog(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "__cluster_metadata-0", "metadata.log")
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	// Lines as an older Ordo wrote them (no checksum), the second cut short.
	log := `[{"broker":{"node_id":0,"host":"127.0.0.1","port":9092}}]` + "\n" +
		`[{"broker":{"node_id":0,"host":"127.0.0.1","port":9093}` + "\n" +
		`[{"broker":{"node_id":0,"host":"127.0.0.1","port":9094}}]` + "\n"
	require.NoError(t, os.WriteFile(path, []byte(log), 0o644))

	out, err := mainCommand(t, "--listen", "127.0.0.1:0", "--data-dir", dir).CombinedOutput()
	require.Equal(t, 1, exitCode(t, err), "output: %s", out)
	require.Contains(t, string(out), "cannot start broker")
	require.Contains(t, string(out), path+" is damaged at byte offset 58 (line 2")
}

// startOrdo runs ordo in a child process and returns once it logged that it
// listens (its stderr is then drained in the background).
func startOrdo(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := mainCommand(t, args...)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	listening := make(chan bool, 1)
	var log strings.Builder
	go func() {
		sc := bufio.NewScanner(stderr)
		said := false
		for sc.Scan() {
			if !said {
				log.WriteString(sc.Text() + "\n")
				if strings.Contains(sc.Text(), "ordo listening") {
					said = true
					listening <- true
				}
			}
		}
		if !said {
			listening <- false
		}
	}()
	select {
	case ok := <-listening:
		if !ok {
			err := cmd.Wait()
			t.Fatalf("ordo exited before listening (exit %d); log:\n%s", exitCode(t, err), log.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("ordo did not listen within 60s")
	}
	return cmd
}
