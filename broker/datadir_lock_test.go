package broker_test

import (
	"io"
	"log/slog"
	"testing"

	"github.com/ordo-broker/ordo/broker"
	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/ordo-broker/ordo/broker/ordotest"
	"github.com/stretchr/testify/require"
)

func lockTestConfig(dir string, fsys fs.FS) broker.Config {
	cfg := broker.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = dir
	cfg.FS = fsys
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return cfg
}

// TestSecondStartOnOneDataDir: a second broker in the same process is
// refused the data directory the first one holds, on disk and on the
// in-memory twin, until the first one closes.
func TestSecondStartOnOneDataDir(t *testing.T) {
	for name, cfg := range map[string]broker.Config{
		"os":  lockTestConfig(t.TempDir(), nil),
		"mem": lockTestConfig("/data", fs.NewMem()),
	} {
		t.Run(name, func(t *testing.T) {
			first, err := broker.Start(cfg)
			require.NoError(t, err)
			defer first.Close()

			_, err = broker.Start(cfg)
			require.ErrorIs(t, err, broker.ErrDataDirLocked)
			require.ErrorIs(t, err, fs.ErrLocked)
			require.ErrorContains(t, err, cfg.DataDir+" is in use by another broker")

			require.NoError(t, first.Close())
			again, err := broker.Start(cfg)
			require.NoError(t, err, "a closed broker leaves the directory to the next")
			require.NoError(t, again.Close())
		})
	}
}

// TestCrashReleasesDataDirLock: a simulated power loss kills the broker
// that held the lock, so the broker ordotest starts again gets it; a
// stranger still does not.
func TestCrashReleasesDataDirLock(t *testing.T) {
	mem := fs.NewMem()
	b := ordotest.Start(t, ordotest.WithMemFS(mem))
	b.Crash(fs.CrashOptions{TearLastWrite: true})
	b.Restart()
	_, err := broker.Start(lockTestConfig("/ordo-data", mem))
	require.ErrorIs(t, err, broker.ErrDataDirLocked)
}
