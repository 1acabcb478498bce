// Package quorum is the controller quorum (KIP-500, KIP-595): the cluster
// metadata log, replicated by Raft among the voters with
// github.com/hashicorp/raft, and the state machine that applies it to the
// pure metadata image (metadata.Image). Voters run broker and controller
// together (KRaft's combined mode); other brokers follow the log as Raft
// non-voters (KRaft's observers). The active controller is the Raft
// leader: it alone proposes changes, each one Raft entry holding one batch
// of records applied whole. Snapshots hold the image as its records.
//
// The quorum owns agreement on metadata, nothing else: what a change may
// be is the controller's decision, and what a broker does with the image
// is the broker's. Raft traffic goes through the node's network seam
// (broker/network), so an in-process cluster can be partitioned.
package quorum

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"github.com/ordo-broker/ordo/broker/metadata"
	"github.com/ordo-broker/ordo/broker/network"
)

// Errors of the quorum.
var (
	// ErrNotController: this node is not the active controller; the
	// change must go to the leader (Leader says which, if known).
	ErrNotController = errors.New("quorum: this node is not the active controller")
	// ErrNoQuorum: the change could not be committed (no majority, or
	// leadership was lost while it was in flight); whether it was is
	// unknown until the log says so. Retriable.
	ErrNoQuorum = errors.New("quorum: the change was not committed by a majority")
	// ErrClosed: the quorum was closed.
	ErrClosed = errors.New("quorum: closed")
)

// Config configures one node of the quorum.
type Config struct {
	// NodeID is this node's id.
	NodeID int32
	// Addr is where this node listens for Raft traffic. For a voter it
	// must be its address in Voters.
	Addr string
	// Voters is the quorum. A node in it votes; any other node follows as
	// a non-voter once the active controller adds it (AddNonvoter).
	Voters []Voter
	// ClusterID is the cluster's id, the same on every node.
	ClusterID string
	// Network is the node's network seam; nil means TCP. Raft's
	// connections are dialled with the protocol tag network.ProtoRaft.
	Network network.Network
	// Listener is where Raft traffic arrives: the network.ProtoRaft
	// listener of the node's inter-broker Mux. nil: the quorum listens on
	// Addr itself, with a Mux of its own.
	Listener net.Listener
	// Dir holds the Raft log and stable store (raft.db, bbolt through
	// raft-boltdb) and the snapshots. Ignored when the stores below are
	// given.
	Dir string
	// Stores, for tests: an in-memory log, stable and snapshot store
	// (raft.InmemStore, raft.InmemSnapshotStore) that the test keeps
	// across restarts like a disk. All three or none.
	LogStore      raft.LogStore
	StableStore   raft.StableStore
	SnapshotStore raft.SnapshotStore
	// Timing, Raft's: zero takes hashicorp/raft's defaults (1 s heartbeat
	// and election timeouts, 500 ms leader lease), which suit real
	// networks; in-process tests set them to tens of milliseconds.
	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	// SnapshotThreshold is how many entries since the last snapshot make
	// the next one (zero: raft's 8192).
	SnapshotThreshold uint64
	Logger            *slog.Logger
}

// Quorum is this node's member of the controller quorum.
type Quorum struct {
	cfg       Config
	raft      *raft.Raft
	fsm       *fsm
	transport *raft.NetworkTransport
	closers   []io.Closer

	closeOnce sync.Once
	closeErr  error
}

// Open starts this node's Raft member. A voter whose stores are empty
// bootstraps the configuration from Voters (every voter does so with the
// same list, which hashicorp/raft allows); a node with state resumes from
// it.
func Open(cfg Config) (*Quorum, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Network == nil {
		cfg.Network = network.TCP{}
	}
	q := &Quorum{cfg: cfg, fsm: newFSM(cfg.ClusterID)}
	ok := false
	defer func() {
		if !ok {
			_ = q.closeResources()
		}
	}()

	logs, stable, snaps, err := q.stores()
	if err != nil {
		return nil, err
	}
	ln := cfg.Listener
	if ln == nil {
		shared, err := cfg.Network.Listen(cfg.Addr)
		if err != nil {
			return nil, fmt.Errorf("quorum: listening for raft on %s: %w", cfg.Addr, err)
		}
		mux := network.NewMux(shared)
		q.closers = append(q.closers, mux)
		if ln, err = mux.Listen(network.ProtoRaft); err != nil {
			return nil, fmt.Errorf("quorum: %w", err)
		}
	}
	q.transport = raft.NewNetworkTransportWithLogger(&streamLayer{ln: ln, net: cfg.Network, addr: raftAddr(cfg.Addr)}, 3, 10*time.Second, hclogFor(cfg.Logger))
	q.closers = append(q.closers, closerFunc(q.transport.Close))

	rc := raft.DefaultConfig()
	rc.LocalID = serverID(cfg.NodeID)
	rc.Logger = hclogFor(cfg.Logger)
	if cfg.HeartbeatTimeout > 0 {
		rc.HeartbeatTimeout = cfg.HeartbeatTimeout
	}
	if cfg.ElectionTimeout > 0 {
		rc.ElectionTimeout = cfg.ElectionTimeout
	}
	if cfg.LeaderLeaseTimeout > 0 {
		rc.LeaderLeaseTimeout = cfg.LeaderLeaseTimeout
	}
	if cfg.SnapshotThreshold > 0 {
		rc.SnapshotThreshold = cfg.SnapshotThreshold
	}
	if err := raft.ValidateConfig(rc); err != nil {
		return nil, fmt.Errorf("quorum: %w", err)
	}

	existing, err := raft.HasExistingState(logs, stable, snaps)
	if err != nil {
		return nil, fmt.Errorf("quorum: %w", err)
	}
	if !existing && q.isVoter() {
		if err := raft.BootstrapCluster(rc, logs, stable, snaps, q.transport, q.configuration()); err != nil {
			return nil, fmt.Errorf("quorum: bootstrapping: %w", err)
		}
	}
	r, err := raft.NewRaft(rc, q.fsm, logs, stable, snaps, q.transport)
	if err != nil {
		return nil, fmt.Errorf("quorum: %w", err)
	}
	q.raft = r
	ok = true
	return q, nil
}

func (q *Quorum) stores() (raft.LogStore, raft.StableStore, raft.SnapshotStore, error) {
	cfg := q.cfg
	if cfg.LogStore != nil || cfg.StableStore != nil || cfg.SnapshotStore != nil {
		if cfg.LogStore == nil || cfg.StableStore == nil || cfg.SnapshotStore == nil {
			return nil, nil, nil, errors.New("quorum: give all three stores or none")
		}
		return cfg.LogStore, cfg.StableStore, cfg.SnapshotStore, nil
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, nil, nil, fmt.Errorf("quorum: %w", err)
	}
	bolt, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(cfg.Dir, "raft.db")})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("quorum: opening raft.db: %w", err)
	}
	q.closers = append(q.closers, bolt)
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.Dir, 2, hclogFor(cfg.Logger))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("quorum: %w", err)
	}
	return bolt, bolt, snaps, nil
}

func (q *Quorum) isVoter() bool {
	for _, v := range q.cfg.Voters {
		if v.ID == q.cfg.NodeID {
			return true
		}
	}
	return false
}

func (q *Quorum) configuration() raft.Configuration {
	var c raft.Configuration
	for _, v := range q.cfg.Voters {
		c.Servers = append(c.Servers, raft.Server{Suffrage: raft.Voter, ID: serverID(v.ID), Address: raft.ServerAddress(v.Addr)})
	}
	return c
}

func serverID(id int32) raft.ServerID { return raft.ServerID(strconv.Itoa(int(id))) }

// Propose commits one change: the records are applied whole, on every
// node, or not at all. Only the active controller proposes
// (ErrNotController elsewhere). It returns once the change is committed
// and applied here, with the image it made, or with the error that made
// every node refuse it; ErrNoQuorum when it could not be committed in
// time (ctx).
func (q *Quorum) Propose(ctx context.Context, recs []metadata.Record) error {
	data, err := encodeChange(recs)
	if err != nil {
		return fmt.Errorf("quorum: encoding change: %w", err)
	}
	timeout := time.Duration(0)
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
		if timeout <= 0 {
			return fmt.Errorf("%w: %w", ErrNoQuorum, context.DeadlineExceeded)
		}
	}
	f := q.raft.Apply(data, timeout)
	if err := q.futureErr(f.Error()); err != nil {
		return err
	}
	if err, isErr := f.Response().(error); isErr {
		return err
	}
	return nil
}

// futureErr maps Raft's errors to the quorum's.
func (q *Quorum) futureErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, raft.ErrNotLeader):
		return ErrNotController
	case errors.Is(err, raft.ErrRaftShutdown):
		return ErrClosed
	case errors.Is(err, raft.ErrLeadershipLost), errors.Is(err, raft.ErrEnqueueTimeout),
		errors.Is(err, raft.ErrAbortedByRestore), errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return fmt.Errorf("%w: %w", ErrNoQuorum, err)
	}
	return fmt.Errorf("%w: %w", ErrNoQuorum, err)
}

// Barrier returns once every change committed before it is applied here:
// a new active controller calls it before it validates changes against its
// image.
func (q *Quorum) Barrier(ctx context.Context) error {
	timeout := time.Duration(0)
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	return q.futureErr(q.raft.Barrier(timeout).Error())
}

// Image is the latest image applied on this node, and the log index it
// reflects.
func (q *Quorum) Image() (*metadata.Image, uint64) { return q.fsm.current() }

// Subscribe adds a listener of committed images: it gets the current image
// at once, then every change in log order, from Raft's apply goroutine.
func (q *Quorum) Subscribe(l Listener) { q.fsm.subscribe(l) }

// IsController tells whether this node is the active controller.
func (q *Quorum) IsController() bool { return q.raft.State() == raft.Leader }

// Controller is the active controller's node id, as far as this node knows.
func (q *Quorum) Controller() (int32, bool) {
	_, id := q.raft.LeaderWithID()
	if id == "" {
		return -1, false
	}
	n, err := strconv.ParseInt(string(id), 10, 32)
	if err != nil {
		return -1, false
	}
	return int32(n), true
}

// LeadershipChanges receives true when this node becomes the active
// controller and false when it stops being it (raft's LeaderCh: a slow
// reader misses intermediate values, never the last).
func (q *Quorum) LeadershipChanges() <-chan bool { return q.raft.LeaderCh() }

// AddNonvoter makes node follow the log without voting (a broker that is
// not in the voter set). Only the active controller can.
func (q *Quorum) AddNonvoter(node int32, addr string, timeout time.Duration) error {
	return q.futureErr(q.raft.AddNonvoter(serverID(node), raft.ServerAddress(addr), 0, timeout).Error())
}

// Snapshot takes a snapshot now (tests; Raft takes them by itself every
// SnapshotThreshold entries).
func (q *Quorum) Snapshot() error { return q.raft.Snapshot().Error() }

// Close stops this node's member of the quorum.
func (q *Quorum) Close() error {
	q.closeOnce.Do(func() {
		var errs []error
		if q.raft != nil {
			errs = append(errs, q.raft.Shutdown().Error())
		}
		errs = append(errs, q.closeResources())
		q.closeErr = errors.Join(errs...)
	})
	return q.closeErr
}

func (q *Quorum) closeResources() error {
	var errs []error
	for i := len(q.closers) - 1; i >= 0; i-- {
		errs = append(errs, q.closers[i].Close())
	}
	q.closers = nil
	return errors.Join(errs...)
}

// raftAddr is the address this node gives Raft as its own: the one the
// voter list names, whatever the listener (a Mux's, a port-0 listener)
// reports.
type raftAddr string

func (a raftAddr) Network() string { return "tcp" }
func (a raftAddr) String() string  { return string(a) }

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// streamLayer carries Raft's transport over the node's network seam.
type streamLayer struct {
	ln   net.Listener
	net  network.Network
	addr net.Addr // this node's Raft address, as the voters name it
}

func (s *streamLayer) Accept() (net.Conn, error) { return s.ln.Accept() }
func (s *streamLayer) Close() error              { return s.ln.Close() }
func (s *streamLayer) Addr() net.Addr            { return s.addr }

func (s *streamLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return network.DialProto(ctx, s.net, string(addr), network.ProtoRaft)
}

// hclogFor sends hashicorp/raft's logs to the broker's slog logger, at
// their own levels.
func hclogFor(l *slog.Logger) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:   "raft",
		Level:  hclog.Info,
		Output: slogWriter{l},
	})
}

type slogWriter struct{ l *slog.Logger }

// Write logs one hclog line at the level hclog wrote into it.
func (w slogWriter) Write(p []byte) (int, error) {
	line := string(trimNewline(p))
	level := slog.LevelInfo
	switch {
	case strings.Contains(line, "[ERROR]"):
		level = slog.LevelError
	case strings.Contains(line, "[WARN]"):
		level = slog.LevelWarn
	case strings.Contains(line, "[DEBUG]"), strings.Contains(line, "[TRACE]"):
		level = slog.LevelDebug
	}
	w.l.Log(context.Background(), level, line, "component", "raft")
	return len(p), nil
}

func trimNewline(p []byte) []byte {
	for len(p) > 0 && (p[len(p)-1] == '\n' || p[len(p)-1] == '\r') {
		p = p[:len(p)-1]
	}
	return p
}
