//go:build failpoints

package chaos_test

import (
	"context"
	"math/rand/v2"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ordo-broker/ordo/broker/failpoints"
	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/ordo-broker/ordo/broker/ordotest"
	"github.com/ordo-broker/ordo/broker/storage"
	"github.com/ordo-broker/ordo/linearizability/workload"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestFsyncErrorStopsTheBroker: a third of the way through the load, one
// fsync of a partition log fails with EIO (failpoints.FsyncError, once, on
// this broker). The broker must stop, never continue: the produces waiting
// for that fsync are answered KAFKA_STORAGE_ERROR (indeterminate in the
// history), and the broker closes itself (Done, with Err the EIO). The
// clients find it gone for a while; then the power goes too (what was not
// fsynced is lost, the last write torn) and the broker starts again from
// the same in-memory disk, and the load goes on against it (kgo's
// idempotent producers retry what was never answered). The whole history
// (before the stop, while it was down, after the restart, and the final
// drain) must check clean: no acknowledged record lost or moved, nothing
// read that was not durable, reads linearizable.
func TestFsyncErrorStopsTheBroker(t *testing.T) {
	s := seed(t)
	t.Logf("seed %d (replay the client schedule with ORDO_SEED=%d)", s, s)
	mem := fs.NewMem()
	b := ordotest.Start(t, ordotest.WithMemFS(mem))
	d := loadDuration(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second+2*d)
	defer cancel()
	name := "ordo-chaos-" + strings.ReplaceAll(t.Name(), "/", "-") + "-" + strconv.FormatInt(s, 10)

	// The workload runs in its own goroutine while this one injects the
	// fault and restarts the broker.
	type outcome struct {
		res workload.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := workload.Run(ctx, workload.Config{
			Brokers: []string{b.Addr()}, Topic: "chaos", Partitions: 4,
			Producers: 4, Consumers: 2, Readers: 2, Duration: d, Seed: s,
			ClientOpts: []kgo.Opt{kgo.MetadataMinAge(50 * time.Millisecond)},
		})
		done <- outcome{res, err}
	}()
	received := false
	defer func() {
		cancel() // a failed test must not leave the workload waiting
		if !received {
			<-done
		}
	}()

	start := time.Now()
	select {
	case <-time.After(d / 3):
	case <-ctx.Done():
		t.Fatal("timed out before the fault")
	}
	failpoints.Enable(t, failpoints.FsyncError, "1*return(true)", failpoints.OnNodes(b.NodeID()))
	select {
	case <-b.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the broker went on after its fsync failed")
	}
	t.Logf("fail-stop: %v", b.Err())
	require.ErrorIs(t, b.Err(), storage.ErrLogFailed)
	require.ErrorIs(t, b.Err(), syscall.EIO)
	failpoints.RequireFired(t, failpoints.FsyncError)

	failpoints.Disable(failpoints.FsyncError)

	// Down until half-way through the load, then power loss and restart.
	time.Sleep(time.Until(start.Add(d / 2)))
	crashSeed := rand.Uint64()
	t.Logf("crash seed %d", crashSeed)
	b.Crash(fs.CrashOptions{TearLastWrite: true, Rand: rand.New(rand.NewPCG(crashSeed, crashSeed))})
	require.NoError(t, b.Err())

	out := <-done
	received = true
	keepHistoryOnFailure(t, name, out.res.History)
	require.NoError(t, out.err)
	requirePass(t, check(t, name, out.res, true))
}
