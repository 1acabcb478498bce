package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ordo-broker/ordo/broker"
	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// lockedBuffer is a bytes.Buffer the broker's logger and the test share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestExitOnStorageFailure: when a partition log's fsync fails, the broker
// stops on its own and ordo exits 1 with a line that says why. The broker
// runs in process on an in-memory disk (startBroker) so the test can make
// its fsyncs fail.
func TestExitOnStorageFailure(t *testing.T) {
	mem := fs.NewMem()
	started := make(chan *broker.Broker, 1)
	orig := startBroker
	startBroker = func(cfg broker.Config) (*broker.Broker, error) {
		cfg.FS = mem
		b, err := broker.Start(cfg)
		if err == nil {
			started <- b
		}
		return b, err
	}
	t.Cleanup(func() { startBroker = orig })

	var stderr lockedBuffer
	exit := make(chan int, 1)
	noEnv := func(string) (string, bool) { return "", false }
	args := []string{"--listen", "127.0.0.1:0", "--data-dir", filepath.Join(t.TempDir(), "data")}
	go func() { exit <- run(context.Background(), args, noEnv, io.Discard, &stderr) }()
	var b *broker.Broker
	select {
	case b = <-started:
	case code := <-exit:
		t.Fatalf("ordo exited %d before starting; log:\n%s", code, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("the broker did not start; log:\n%s", stderr.String())
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.DefaultProduceTopic("t"), kgo.RecordDeliveryTimeout(2*time.Second))
	require.NoError(t, err)
	defer cl.Close()
	_, err = kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, "t")
	require.NoError(t, err)
	require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Value: []byte("acknowledged")}).FirstErr())

	mem.FailSync(syscall.EIO)
	require.Error(t, cl.ProduceSync(ctx, &kgo.Record{Value: []byte("never acknowledged")}).FirstErr())
	select {
	case code := <-exit:
		require.Equal(t, 1, code, "log:\n%s", stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("ordo did not exit after the fsync failure; log:\n%s", stderr.String())
	}
	require.Contains(t, stderr.String(), "ordo stopped: the broker failed")
	require.Contains(t, stderr.String(), "input/output error")
}
