package partition

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ordo-broker/ordo/broker/clock"
	"github.com/ordo-broker/ordo/broker/fs"
)

// logCapture collects a logger's records as JSON objects.
type logCapture struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *logCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

func (c *logCapture) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(c, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// records returns the records whose message is msg.
func (c *logCapture) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []map[string]any
	dec := json.NewDecoder(bytes.NewReader(c.buf.Bytes()))
	for {
		var rec map[string]any
		if err := dec.Decode(&rec); err == io.EOF {
			return out
		} else {
			require.NoError(t, err)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
}

func startupManager(fsys fs.FS, logs *logCapture) *Manager {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	return NewManager(Config{FS: fsys, Dir: "/data", Clock: clk, Logger: logs.logger()})
}

// TestCrashRecoveryIsLogged: after power loss with a torn write at the end
// of a partition's log, the next start cuts the torn bytes and says so, per
// partition with figures and in one summary line.
func TestCrashRecoveryIsLogged(t *testing.T) {
	noSync := map[string]string{"flush.messages": "9223372036854775807"}
	for seed := uint64(1); ; seed++ {
		require.Less(t, seed, uint64(50), "no seed tore the last write")
		mem := fs.NewMem()
		im := image(t, nil, "t", 2, noSync)
		var logs logCapture
		mgr := startupManager(mem, &logs)
		require.NoError(t, mgr.Apply(nil, im))
		p := mgr.Get("t", 0)
		_, err := p.Append(batch(3), time.Now())
		require.NoError(t, err)
		require.NoError(t, mgr.FlushAll())
		seg := filepath.Join("/data", "t-0", "00000000000000000000.log")
		synced, err := mem.Stat(seg)
		require.NoError(t, err)
		_, err = p.Append(batch(5), time.Now()) // never synced
		require.NoError(t, err)
		whole, err := mem.Stat(seg)
		require.NoError(t, err)

		mem.Crash(fs.CrashOptions{TearLastWrite: true, Rand: rand.New(rand.NewPCG(seed, 9))})
		info, err := mem.Stat(seg)
		require.NoError(t, err)
		if info.Size() <= synced.Size() || info.Size() >= whole.Size() {
			continue // not torn: try another seed
		}
		t.Logf("seed %d kept %d of %d unsynced bytes", seed, info.Size()-synced.Size(), whole.Size()-synced.Size())
		require.Error(t, mgr.Close(), "the crashed process's files are fenced")
		_, err = mem.Stat(filepath.Join("/data", cleanShutdownFile))
		require.True(t, fs.IsNotExist(err), "a crashed broker leaves no clean-shutdown marker")

		var logs2 logCapture
		mgr2 := startupManager(mem, &logs2)
		defer mgr2.Close()
		require.NoError(t, mgr2.Apply(nil, im))
		assert.Equal(t, int64(3), mgr2.Get("t", 0).LogEndOffset(), "the torn batch is cut")

		recovered := logs2.records(t, "recovered partition log")
		require.Len(t, recovered, 1, "only the partition with something to recover is logged")
		r := recovered[0]
		assert.Equal(t, "t", r["topic"])
		assert.EqualValues(t, 0, r["partition"])
		assert.EqualValues(t, 1, r["segments_rescanned"])
		assert.EqualValues(t, info.Size(), r["bytes_rescanned"])
		assert.EqualValues(t, info.Size()-synced.Size(), r["truncated_bytes"])
		assert.EqualValues(t, 3, r["log_end_offset"])
		assert.Contains(t, r, "duration")

		summary := logs2.records(t, "partition logs opened")
		require.Len(t, summary, 1)
		s := summary[0]
		assert.EqualValues(t, 2, s["partitions"])
		assert.EqualValues(t, 1, s["recovered"])
		assert.Equal(t, false, s["clean_shutdown"])
		assert.EqualValues(t, info.Size()-synced.Size(), s["truncated_bytes"])
		assert.Contains(t, s, "duration")
		return
	}
}

// TestCleanShutdownMarker: a clean Close leaves the marker, and the next
// start trusts every log (nothing rescanned), removes the marker durably
// and says the shutdown was clean.
func TestCleanShutdownMarker(t *testing.T) {
	mem := fs.NewMem()
	im := image(t, nil, "t", 3, nil)
	var logs logCapture
	mgr := startupManager(mem, &logs)
	require.NoError(t, mgr.Apply(nil, im))
	for i, p := range []*Partition{mgr.Get("t", 0), mgr.Get("t", 1)} {
		a, err := p.Append(batch(2+i), time.Now())
		require.NoError(t, err)
		require.NoError(t, p.WaitCommitted(context.Background(), a, time.Second))
	}
	require.NoError(t, mgr.Close())
	marker := filepath.Join("/data", cleanShutdownFile)
	_, err := mem.Stat(marker)
	require.NoError(t, err, "a clean shutdown leaves the marker")
	mem.Crash(fs.CrashOptions{}) // it is durable

	var logs2 logCapture
	mgr2 := startupManager(mem, &logs2)
	require.NoError(t, mgr2.Apply(nil, im))
	for i := range 3 {
		r := mgr2.Get("t", int32(i)).log.Recovery()
		assert.True(t, r.CleanShutdown, "partition %d", i)
		assert.Zero(t, r.SegmentsRescanned, "partition %d: nothing rescanned", i)
		assert.Zero(t, r.BytesRescanned, "partition %d", i)
	}
	assert.Equal(t, int64(3), mgr2.Get("t", 1).LogEndOffset())
	assert.Empty(t, logs2.records(t, "recovered partition log"))
	summary := logs2.records(t, "partition logs opened")
	require.Len(t, summary, 1)
	assert.Equal(t, true, summary[0]["clean_shutdown"])
	assert.EqualValues(t, 3, summary[0]["partitions"])
	assert.EqualValues(t, 0, summary[0]["recovered"])

	// The marker is gone, durably, before anything is written.
	mem.Crash(fs.CrashOptions{})
	_, err = mem.Stat(marker)
	assert.True(t, fs.IsNotExist(err))
	var logs3 logCapture
	mgr3 := startupManager(mem, &logs3)
	defer mgr3.Close()
	require.NoError(t, mgr3.Apply(nil, im))
	assert.Equal(t, false, logs3.records(t, "partition logs opened")[0]["clean_shutdown"])
	assert.False(t, mgr3.Get("t", 1).log.Recovery().CleanShutdown)
	assert.Equal(t, int64(3), mgr3.Get("t", 1).LogEndOffset())
}
