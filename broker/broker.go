// Package broker is one Ordo broker process: it ties the wire layer, the
// request handlers, the partitions and their storage together. Start returns a
// running broker; Close stops it. Everything a broker runs lives below this
// package; cmd/ordo is only flags around it.
//
// The path of a request: wire (frames, headers, kmsg decode) → handler (one
// file per API key) → partition / controller → storage.
package broker

import (
	"context"
	"errors"
	"fmt"
	"github.com/ordo-broker/ordo/broker/clock"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/ordo-broker/ordo/broker/controller"
	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/ordo-broker/ordo/broker/group"
	"github.com/ordo-broker/ordo/broker/handler"
	"github.com/ordo-broker/ordo/broker/metadata"
	"github.com/ordo-broker/ordo/broker/partition"
	"github.com/ordo-broker/ordo/broker/producerid"
	"github.com/ordo-broker/ordo/broker/wire"
)

// metadataDir is where the controller keeps its record log, named as KRaft
// names its metadata partition.
const metadataDir = "__cluster_metadata-0"

// lockFile is the data directory's lock, Kafka's name for it: a broker holds
// it from Start to Close, so no two brokers (processes, or two Starts in one
// process) ever write the same directory.
const lockFile = ".lock"

// ErrDataDirLocked is why Start refuses a data directory another broker
// holds (the error wraps fs.ErrLocked too).
var ErrDataDirLocked = errors.New("data directory locked")

// Broker is a running broker.
type Broker struct {
	cfg        Config
	addr       string
	listenAddr string
	logger     *slog.Logger
	controller *controller.Controller
	partitions *partition.Manager
	groups     *group.Coordinator
	server     *wire.Server
	dirLock    fs.Lock // the data directory's .lock, released last

	stopFlusher chan struct{}
	wg          sync.WaitGroup
	closeOnce   sync.Once
	closeErr    error
	done        chan struct{} // closed once stopped, by Close or a fail-stop

	failOnce sync.Once
	failed   chan struct{} // closed by failStop, once failure is set
	failure  error         // the storage failure that stopped the broker
}

// failStopGrace bounds how long a broker stopping on a storage failure
// waits for the connections to answer the requests they had read (the
// produces waiting for the failed fsync get KAFKA_STORAGE_ERROR); long
// polls still waiting then are cut.
const failStopGrace = time.Second

// Start opens (and recovers) the data directory, binds the listener and serves
// clients in the background until Close.
func Start(cfg Config) (*Broker, error) {
	cfg = withDefaults(cfg)
	b := &Broker{
		cfg: cfg, logger: cfg.Logger.With("node", cfg.NodeID),
		stopFlusher: make(chan struct{}), done: make(chan struct{}), failed: make(chan struct{}),
	}

	if err := fs.MkdirAllDurable(cfg.FS, cfg.DataDir); err != nil {
		return nil, fmt.Errorf("broker: data directory %s: %w", cfg.DataDir, err)
	}
	lock, err := lockDataDir(cfg.FS, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	b.dirLock = lock
	started := false
	defer func() {
		if !started {
			_ = lock.Release()
		}
	}()
	props, err := loadMetaProperties(cfg.FS, cfg.DataDir, cfg.NodeID, cfg.ClusterID)
	if err != nil {
		return nil, err
	}

	ln := cfg.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", cfg.Listen); err != nil {
			return nil, fmt.Errorf("broker: listen on %s: %w", cfg.Listen, err)
		}
	}
	host, port, err := advertised(cfg.Advertise, ln.Addr())
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	b.addr = net.JoinHostPort(host, strconv.Itoa(int(port)))
	b.listenAddr = ln.Addr().String()

	ctl, err := controller.Open(cfg.FS, filepath.Join(cfg.DataDir, metadataDir), props.clusterID, b.logger)
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	b.controller = ctl
	b.partitions = partition.NewManager(partition.Config{
		FS: cfg.FS, Dir: cfg.DataDir, NodeID: cfg.NodeID,
		Clock: cfg.Clock, FlushInterval: cfg.FlushInterval, Logger: b.logger,
		MaxOpenFiles: cfg.MaxOpenFiles,
	})
	b.partitions.OnStorageFailure = b.failStop

	var applyErr error
	ctl.Subscribe(func(prev, next *metadata.Image) {
		if err := b.partitions.Apply(prev, next); err != nil {
			if prev == nil {
				applyErr = err
			}
			b.logger.Error("applying metadata to partitions", "err", err)
		}
	})
	if applyErr != nil {
		b.shutdown()
		_ = ln.Close()
		return nil, fmt.Errorf("broker: opening partitions: %w", applyErr)
	}
	// From now on a change that needs a partition this broker cannot open
	// is refused (CreateTopics, CreatePartitions: KAFKA_STORAGE_ERROR).
	ctl.SetPreparer(b.partitions)
	if err := ctl.RegisterBroker(metadata.BrokerRecord{NodeID: cfg.NodeID, Host: host, Port: port}); err != nil {
		b.shutdown()
		_ = ln.Close()
		return nil, err
	}
	// The group coordinator follows the image after the partitions do, so
	// the partitions of __consumer_offsets it loads are open.
	b.groups = b.newGroupCoordinator(ctl)
	ctl.Subscribe(b.groups.OnImage)

	h := handler.New(handler.Deps{
		NodeID:           cfg.NodeID,
		Controller:       ctl,
		Partitions:       b.partitions,
		ProducerIDs:      producerid.New(ctl, cfg.NodeID),
		Groups:           b.groups,
		AutoCreateTopics: cfg.AutoCreateTopics,
		Defaults:         controller.Defaults{NumPartitions: cfg.DefaultPartitions, ReplicationFactor: 1},
		BrokerConfigs:    cfg.staticConfigs(b.addr),
		Clock:            cfg.Clock,
		Logger:           b.logger,
	})
	b.server = wire.NewServer(cfg.wireConfig(b.logger), h)
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		if err := b.server.Serve(ln); err != nil && !errors.Is(err, wire.ErrServerClosed) {
			b.logger.Error("serving", "err", err)
		}
	}()
	if cfg.LogCleanerInterval > 0 {
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			b.partitions.RunCleaner(b.stopFlusher, cfg.LogCleanerInterval)
		}()
	}
	// Fail-stop: once a partition's log fails, the broker stops (not in
	// b.wg: stopping waits for b.wg).
	go func() {
		select {
		case <-b.failed:
			_ = b.stop(true)
		case <-b.done:
		}
	}()
	b.logger.Info("broker started", "addr", b.addr, "data_dir", cfg.DataDir, "cluster_id", props.clusterID)
	started = true
	return b, nil
}

// lockDataDir takes the data directory's lock, or says who has it.
func lockDataDir(fsys fs.FS, dir string) (fs.Lock, error) {
	l, err := fsys.Lock(filepath.Join(dir, lockFile))
	switch {
	case errors.Is(err, fs.ErrLocked):
		return nil, fmt.Errorf("broker: %w: %s is in use by another broker (%w); stop that broker, or give this one another data directory",
			ErrDataDirLocked, dir, err)
	case err != nil:
		return nil, fmt.Errorf("broker: locking data directory %s: %w", dir, err)
	}
	return l, nil
}

// Addr is the address clients connect to (the advertised one).
func (b *Broker) Addr() string { return b.addr }

// ListenAddr is the address the broker's listener is bound to. It differs
// from Addr when Config.Advertise sends clients elsewhere (a proxy in a
// test).
func (b *Broker) ListenAddr() string { return b.listenAddr }

// LogFileStats says how many descriptors the partition logs hold (at most
// Config.MaxOpenFiles) and how often idle ones were closed and reopened.
func (b *Broker) LogFileStats() fs.FileCacheStats { return b.partitions.FileStats() }

// NodeID is the broker's id.
func (b *Broker) NodeID() int32 { return b.cfg.NodeID }

// Close stops serving, closes connections and flushes and closes every log.
// After the broker stopped on its own (Done, Err), Close only returns what
// that stop returned.
func (b *Broker) Close() error { return b.stop(false) }

// Done is closed once the broker has stopped: after Close, or on its own
// when a partition's log failed (Err says why).
func (b *Broker) Done() <-chan struct{} { return b.done }

// Err is why the broker stopped on its own: the storage failure (it wraps
// storage.ErrLogFailed) that made it fail-stop. It is nil while the broker
// runs and after a Close. Read it once Done is closed.
func (b *Broker) Err() error {
	select {
	case <-b.failed:
		return b.failure
	default:
		return nil
	}
}

// failStop is the partitions' OnStorageFailure. A partition log whose
// fsync (or write) failed already refuses appends and syncs, so nothing it
// did not make durable is acknowledged; the broker then stops altogether
// rather than go on without that disk, as Kafka halts when its only log
// directory goes offline. It only records the cause and wakes Start's
// watcher, which stops the broker: it is called on the request path.
func (b *Broker) failStop(cause error) {
	b.failOnce.Do(func() {
		b.failure = cause
		close(b.failed)
	})
}

// stop is Close, and the fail-stop with failed: then the connections first
// answer the requests they had read (up to failStopGrace) and read no more.
func (b *Broker) stop(failed bool) error {
	b.closeOnce.Do(func() {
		var errs []error
		if failed {
			b.logger.Error("stopping the broker: a partition log failed (fail-stop); restart it to recover the logs from disk", "err", b.failure)
		}
		if b.server != nil {
			if failed {
				ctx, cancel := context.WithTimeout(context.Background(), failStopGrace)
				errs = append(errs, b.server.Shutdown(ctx))
				cancel()
			} else {
				errs = append(errs, b.server.Close())
			}
		}
		close(b.stopFlusher)
		b.wg.Wait()
		errs = append(errs, b.shutdown())
		// Last: another broker may take the directory from here on.
		errs = append(errs, b.dirLock.Release())
		b.closeErr = errors.Join(errs...)
		b.logger.Info("broker stopped")
		close(b.done)
	})
	return b.closeErr
}

func (b *Broker) shutdown() error {
	var groupsErr error
	if b.groups != nil {
		// Before the partitions: pending writes of __consumer_offsets
		// finish (or fail) while their logs are still open.
		groupsErr = b.groups.Close()
	}
	return errors.Join(groupsErr, b.partitions.Close(), b.controller.Close())
}

// newGroupCoordinator is the group coordinator over this broker's
// partitions of __consumer_offsets.
func (b *Broker) newGroupCoordinator(ctl *controller.Controller) *group.Coordinator {
	gcfg := group.DefaultConfig()
	gcfg.InitialRebalanceDelay = b.cfg.GroupInitialRebalanceDelay
	gcfg.MinSessionTimeout = b.cfg.GroupMinSessionTimeout
	gcfg.MaxSessionTimeout = b.cfg.GroupMaxSessionTimeout
	return group.NewCoordinator(group.CoordinatorConfig{
		NodeID:     b.cfg.NodeID,
		Partitions: b.cfg.OffsetsTopicPartitions,
		Group:      gcfg,
		Clock:      b.cfg.Clock,
		Logger:     b.logger,
	}, ctl, func(p int32) group.Log {
		if pt := b.partitions.Get(group.OffsetsTopic, p); pt != nil {
			return pt
		}
		return nil
	})
}

func withDefaults(cfg Config) Config {
	d := DefaultConfig()
	if cfg.Listen == "" {
		cfg.Listen = d.Listen
	}
	if cfg.DataDir == "" {
		cfg.DataDir = d.DataDir
	}
	if cfg.FS == nil {
		cfg.FS = fs.OS{}
	}
	if cfg.DefaultPartitions <= 0 {
		cfg.DefaultPartitions = d.DefaultPartitions
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = d.FlushInterval
	}
	if cfg.LogCleanerInterval == 0 {
		cfg.LogCleanerInterval = d.LogCleanerInterval
	}
	if cfg.MaxFrameBytes <= 0 {
		cfg.MaxFrameBytes = d.MaxFrameBytes
	}
	if cfg.OffsetsTopicPartitions <= 0 {
		cfg.OffsetsTopicPartitions = d.OffsetsTopicPartitions
	}
	if cfg.GroupMaxSessionTimeout <= 0 {
		cfg.GroupMaxSessionTimeout = d.GroupMaxSessionTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Clock = clock.OrReal(cfg.Clock)
	return cfg.withConnectionDefaults()
}

// advertised is the host and port clients are told to use.
func advertised(advertise string, bound net.Addr) (string, int32, error) {
	hp := advertise
	if hp == "" {
		hp = bound.String()
	}
	host, portStr, err := net.SplitHostPort(hp)
	if err != nil {
		return "", 0, fmt.Errorf("broker: advertised address %q: %w", hp, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil || port == 0 {
		return "", 0, fmt.Errorf("broker: advertised address %q: bad port", hp)
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		// Bound to every interface: tell clients the loopback address,
		// as an IPv4 literal (librdkafka may resolve "localhost" to ::1).
		host = "127.0.0.1"
	}
	return host, int32(port), nil
}

// staticConfigs are the broker configs DescribeConfigs reports.
func (c Config) staticConfigs(addr string) map[string]string {
	m := map[string]string{
		"node.id":                         strconv.Itoa(int(c.NodeID)),
		"broker.id":                       strconv.Itoa(int(c.NodeID)),
		"listeners":                       "PLAINTEXT://" + c.Listen,
		"advertised.listeners":            "PLAINTEXT://" + addr,
		"log.dirs":                        c.DataDir,
		"num.partitions":                  strconv.Itoa(int(c.DefaultPartitions)),
		"auto.create.topics.enable":       strconv.FormatBool(c.AutoCreateTopics),
		"log.flush.scheduler.interval.ms": strconv.FormatInt(c.FlushInterval.Milliseconds(), 10),

		"offsets.topic.num.partitions":     strconv.Itoa(int(c.OffsetsTopicPartitions)),
		"group.initial.rebalance.delay.ms": strconv.FormatInt(c.GroupInitialRebalanceDelay.Milliseconds(), 10),
		"group.min.session.timeout.ms":     strconv.FormatInt(c.GroupMinSessionTimeout.Milliseconds(), 10),
		"group.max.session.timeout.ms":     strconv.FormatInt(c.GroupMaxSessionTimeout.Milliseconds(), 10),
	}
	c.connectionConfigs(m)
	return m
}
