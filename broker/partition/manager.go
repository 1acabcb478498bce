package partition

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ordo-broker/ordo/broker/clock"
	"github.com/ordo-broker/ordo/broker/failpoints"
	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/ordo-broker/ordo/broker/metadata"
	"github.com/ordo-broker/ordo/broker/storage"
	"github.com/ordo-broker/ordo/broker/topicconfig"
)

// Manager hosts this broker's partitions and keeps them in step with the
// metadata image: it opens a partition's log when the image gives this
// broker a replica, updates configs and leader epochs, and deletes logs of
// deleted topics.
type Manager struct {
	fsys          fs.FS
	files         *fs.FileCache // under fsys: bounds the descriptors held
	dir           string
	nodeID        int32
	clock         clock.Clock
	flushInterval time.Duration
	logger        *slog.Logger

	mu    sync.RWMutex
	parts map[key]*Partition
	// prepared holds the partitions Prepare opened for a change the
	// controller has not committed yet; Apply adopts them, Abandon
	// deletes them. Get does not see them.
	prepared map[key]*Partition
	started  bool // the first Apply ran
	closed   bool // Close ran: nothing more is prepared
	// openFailed: a log failed to open; no clean-shutdown marker then.
	openFailed bool

	sig signal // broadcast when any partition's high watermark moves

	// OnStorageFailure, when set (before the first Apply), is called once,
	// with the cause, the first time a hosted partition's log fails
	// (storage.ErrLogFailed: an fsync or a write failed). The failed log
	// already refuses appends and syncs, so what it holds past its last
	// good fsync is never acknowledged; the broker sets this hook to stop
	// altogether (fail-stop), as Kafka does when its only log directory
	// goes offline. It is called from the request path, so it must not
	// block.
	OnStorageFailure func(error)
	failOnce         sync.Once
}

type key struct {
	topic string
	index int32
}

// Config configures a Manager.
type Config struct {
	// FS is the filesystem of the partition logs.
	FS fs.FS
	// Dir is the log directory: one folder per partition under it.
	Dir string
	// NodeID is this broker's id: it hosts the partitions whose replicas
	// name it.
	NodeID int32
	// Clock is the broker's clock (LogAppendTime, segment.ms, flush
	// deadlines, produce timeouts). nil means the wall clock.
	Clock clock.Clock
	// FlushInterval is log.flush.scheduler.interval.ms: under the
	// interval flush policy, a partition is fsynced at most this long
	// after an append (or flush.ms, when shorter). Zero means a second.
	FlushInterval time.Duration
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// MaxOpenFiles bounds the descriptors the partition logs hold open
	// (fs.FileCache): segment files and indexes are closed when idle and
	// reopened on use, so the broker's descriptors do not grow with its
	// partitions and segments. Zero means fs.DefaultMaxOpen(), half the
	// process's open-files limit.
	MaxOpenFiles int
}

// NewManager returns a manager storing partitions under cfg.Dir.
func NewManager(cfg Config) *Manager {
	if cfg.MaxOpenFiles <= 0 {
		cfg.MaxOpenFiles = fs.DefaultMaxOpen()
	}
	// The cache sits right on the filesystem (a Mem's crash fences it) and
	// under the failpoints, which then fail the syncs storage asks for.
	files := fs.NewFileCache(cfg.FS, cfg.MaxOpenFiles)
	var fsys fs.FS = files
	if failpoints.Enabled {
		fsys = faultFS{FS: fsys, node: cfg.NodeID} // failpoints.FsyncError
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Manager{
		fsys: fsys, files: files, dir: cfg.Dir, nodeID: cfg.NodeID, clock: clock.OrReal(cfg.Clock),
		flushInterval: cfg.FlushInterval, logger: cfg.Logger,
		parts:    map[key]*Partition{},
		prepared: map[key]*Partition{},
		sig:      newSignal(),
	}
}

// FileStats says how the partition logs' descriptors are used.
func (m *Manager) FileStats() fs.FileCacheStats { return m.files.Stats() }

func (m *Manager) now() time.Time { return m.clock.Now() }

// Get returns a hosted partition, or nil.
func (m *Manager) Get(topic string, index int32) *Partition {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.parts[key{topic, index}]
}

// All returns every hosted partition.
func (m *Manager) All() []*Partition {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]*Partition, 0, len(m.parts))
	for _, p := range m.parts {
		out = append(out, p)
	}
	return out
}

// Changed returns a channel closed the next time any hosted partition's high
// watermark moves (long-polling fetches wait on it).
func (m *Manager) Changed() <-chan struct{} { return m.sig.wait() }

// FolderName is Kafka's partition folder name: topic-partition.
func FolderName(topic string, index int32) string {
	return topic + "-" + strconv.Itoa(int(index))
}

// Apply reconciles hosted partitions with next. It is a controller listener:
// prev is nil on the first call, which reads and removes the clean-shutdown
// marker, deals first with the data directory's partition folders that no
// hosted partition owns (reconcileFolders), then opens (and recovers) the
// logs the broker already has and logs what recovery did.
func (m *Manager) Apply(prev, next *metadata.Image) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var rep *startReport
	if !m.started {
		m.started = true
		rep = &startReport{start: m.now()}
		clean, err := m.takeCleanShutdownMarker()
		if err != nil {
			return err // nothing opened: opening might trust a log it should not
		}
		rep.clean = clean
	}
	want := map[key]bool{}
	for name, t := range next.Topics {
		for _, pr := range t.Partitions {
			if hosts(pr, m.nodeID) {
				want[key{name, pr.Partition}] = true
			}
		}
	}
	var errs []error
	if prev == nil {
		errs = append(errs, m.reconcileFolders(next, want))
	}
	var jobs []openJob
	for _, name := range next.TopicNames() {
		t := next.Topics[name]
		cfg := m.topicConfig(t)
		for _, pr := range t.Partitions {
			if !hosts(pr, m.nodeID) {
				continue
			}
			k := key{name, pr.Partition}
			if p, ok := m.prepared[k]; ok {
				delete(m.prepared, k)
				if p.TopicID == t.ID && m.parts[k] == nil {
					m.parts[k] = p
				} else {
					errs = append(errs, m.deleteLog(k, p))
				}
			}
			if p, ok := m.parts[k]; ok && p.TopicID == t.ID {
				p.setState(pr, cfg)
				p.log.SetConfig(storageConfig(cfg))
				continue
			}
			if p, ok := m.parts[k]; ok { // same name, new topic id: the old one was deleted
				errs = append(errs, m.remove(k, p))
			}
			jobs = append(jobs, openJob{k: k, im: next, t: t, pr: pr, cfg: cfg})
		}
	}
	for _, r := range m.openAll(jobs, rep != nil && rep.clean) {
		if r.err != nil {
			m.openFailed = true
			errs = append(errs, r.err)
			continue
		}
		m.parts[r.k] = r.p
		rep.add(r.p.log.Recovery())
	}
	for k, p := range m.prepared { // prepared for a change that did not come
		delete(m.prepared, k)
		errs = append(errs, m.deleteLog(k, p))
	}
	for k, p := range m.parts {
		if !want[k] {
			errs = append(errs, m.remove(k, p))
		}
	}
	if rep != nil {
		m.logStart(rep)
	}
	return errors.Join(errs...)
}

// topicConfig is a topic's configuration as the partitions apply it.
func (m *Manager) topicConfig(t *metadata.Topic) topicconfig.Config {
	cfg, err := topicconfig.Build(t.Configs)
	if err != nil {
		// The controller validated these overrides; a failure here
		// means a newer broker wrote configs this one does not know.
		m.logger.Warn("topic has invalid configs; using defaults", "topic", t.Name, "err", err)
		cfg = topicconfig.Defaults()
	}
	return cfg
}

// Prepare opens the logs of the partitions that next gives this broker and
// it does not host yet, before the controller commits the change that
// creates them (a controller.Preparer): a topic whose partitions cannot be
// opened here, for want of descriptors, space or a working disk, is refused
// rather than acknowledged and left unserved. On an error the logs it
// opened are deleted again, nothing of the topic stays on disk, and the
// error wraps ErrOpenLog. Apply adopts the prepared partitions once the
// change is committed; Abandon deletes them if it is not.
func (m *Manager) Prepare(_, next *metadata.Image) error {
	m.mu.Lock()
	var jobs []openJob
	for _, name := range next.TopicNames() {
		t := next.Topics[name]
		var cfg *topicconfig.Config
		for _, pr := range t.Partitions {
			k := key{name, pr.Partition}
			if !hosts(pr, m.nodeID) || m.parts[k] != nil || m.prepared[k] != nil {
				continue
			}
			if cfg == nil {
				c := m.topicConfig(t)
				cfg = &c
			}
			jobs = append(jobs, openJob{k: k, im: next, t: t, pr: pr, cfg: *cfg})
		}
	}
	m.mu.Unlock()
	if len(jobs) == 0 {
		return nil
	}
	// Opened without m.mu, so produces and fetches to hosted partitions go
	// on meanwhile; the controller's lock keeps every other change out.
	res := m.openAll(jobs, false)
	m.mu.Lock()
	defer m.mu.Unlock()
	var failed *openResult
	for i, r := range res {
		if r.err != nil && failed == nil {
			failed = &res[i]
		}
	}
	if failed == nil && !m.closed {
		for _, r := range res {
			m.prepared[r.k] = r.p
		}
		return nil
	}
	for _, r := range res {
		if r.err == nil {
			_ = m.deleteLog(r.k, r.p)
		}
	}
	if failed == nil {
		return fmt.Errorf("%w: %w", ErrOpenLog, ErrStopped)
	}
	m.logger.Error("cannot open a new partition's log; the change is refused",
		"topic", failed.t.Name, "partition", failed.pr.Partition, "err", failed.err)
	return fmt.Errorf("%w %s: %w", ErrOpenLog, FolderName(failed.t.Name, failed.pr.Partition), failed.err)
}

// Abandon deletes the partitions Prepare opened for a change the
// controller could not commit after all.
func (m *Manager) Abandon(*metadata.Image) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, p := range m.prepared {
		delete(m.prepared, k)
		if err := m.deleteLog(k, p); err != nil {
			m.logger.Error("deleting a partition prepared for an abandoned change", "err", err)
		}
	}
}

// deleteLog closes and deletes the log of a partition that is not hosted.
func (m *Manager) deleteLog(k key, p *Partition) error {
	_ = p.close()
	if err := p.log.Delete(); err != nil {
		return fmt.Errorf("partition: deleting %s: %w", FolderName(k.topic, k.index), err)
	}
	return nil
}

func hosts(pr metadata.PartitionRecord, node int32) bool {
	for _, r := range pr.Replicas {
		if r == node {
			return true
		}
	}
	return false
}

func storageConfig(c topicconfig.Config) storage.Config {
	return storage.Config{
		SegmentBytes:       c.SegmentBytes,
		SegmentMs:          time.Duration(c.SegmentMs) * time.Millisecond,
		IndexIntervalBytes: int(c.IndexIntervalBytes),
	}
}

// partitionMetadataFile records which topic id a folder belongs to (as
// Kafka's partition.metadata does, KIP-516), so a folder left by a deleted
// topic is never mistaken for a new topic of the same name.
const partitionMetadataFile = "partition.metadata"

// open opens (and recovers) a partition's log; im is the image it is opened for; clean says the broker shut
// down cleanly last time (storage.Options.CleanShutdown).
func (m *Manager) open(im *metadata.Image, t *metadata.Topic, pr metadata.PartitionRecord, cfg topicconfig.Config, clean bool) (*Partition, error) {
	dir := filepath.Join(m.dir, FolderName(t.Name, pr.Partition))
	want := "version: 0\ntopic_id: " + t.ID.String() + "\n"
	switch have, err := m.readFile(filepath.Join(dir, partitionMetadataFile)); {
	case err == nil && have != want:
		// An older topic of the same name: removed if the metadata
		// says it was deleted, kept aside otherwise.
		if err := m.setAside(im, key{t.Name, pr.Partition}, "a topic of the same name"); err != nil {
			return nil, err
		}
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("partition: %w", err)
	}
	log, err := storage.OpenWith(m.fsys, dir, storageConfig(cfg), storage.Options{Now: m.clock.Now, CleanShutdown: clean})
	if err != nil {
		return nil, err
	}
	if r := log.Recovery(); r.Recovered() {
		m.logger.Info("recovered partition log",
			"topic", t.Name, "partition", pr.Partition,
			"segments", r.Segments, "segments_rescanned", r.SegmentsRescanned,
			"bytes_rescanned", r.BytesRescanned, "bytes_checked", r.BytesChecked,
			"truncated_bytes", r.TruncatedBytes, "truncated_records", r.TruncatedRecords,
			"segments_deleted", r.SegmentsDeleted, "swaps_completed", r.SwapsCompleted,
			"log_start_offset", r.LogStartOffset, "log_end_offset", r.LogEndOffset,
			"duration", r.Duration)
	}
	if err := m.writeFileOnce(dir, partitionMetadataFile, want); err != nil {
		_ = log.Close()
		return nil, err
	}
	producers, err := loadProducerStates(log, m.now())
	if err != nil {
		_ = log.Close()
		return nil, err
	}
	p := newPartition(t, pr, log, cfg, m.nodeID, m.clock, m.flushInterval)
	p.producers = producers
	p.sig = &m.sig
	p.onLogFailure = m.logFailed
	return p, nil
}

// logFailed is told by a partition that its log failed; the first failure
// goes to OnStorageFailure.
func (m *Manager) logFailed(p *Partition, err error) {
	m.failOnce.Do(func() {
		m.logger.Error("partition log failed: it takes no more writes, and the broker must stop",
			"topic", p.Topic, "partition", p.Index, "err", err)
		if m.OnStorageFailure != nil {
			m.OnStorageFailure(err)
		}
	})
}

func (m *Manager) readFile(path string) (string, error) {
	f, err := m.fsys.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	return string(b), err
}

func (m *Manager) writeFileOnce(dir, name, content string) error {
	path := filepath.Join(dir, name)
	if have, err := m.readFile(path); err == nil && have == content {
		return nil
	}
	tmp := path + ".tmp"
	f, err := m.fsys.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("partition: %w", err)
	}
	_, err = io.Copy(f, bytes.NewReader([]byte(content)))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = m.fsys.Rename(tmp, path)
	}
	if err == nil {
		err = m.fsys.SyncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("partition: writing %s: %w", path, err)
	}
	return nil
}

// remove stops hosting a partition of a deleted topic and deletes its
// folder.
func (m *Manager) remove(k key, p *Partition) error {
	delete(m.parts, k)
	_ = p.close()
	if err := m.deleteFolder(FolderName(k.topic, k.index), k); err != nil {
		return fmt.Errorf("partition: deleting %s: %w", FolderName(k.topic, k.index), err)
	}
	return nil
}

// Suffixes of partition folders that are no partition's any more, Kafka's
// names (LocalLog): "topic-N.<uuid>-delete" is being deleted, and
// "topic-N.<uuid>-stray" was found on start with no topic in the metadata
// to own it, and is kept for the operator (KAFKA-14616).
const (
	deleteSuffix = "-delete"
	straySuffix  = "-stray"
)

// retiredFolderName is Kafka's "topic-N.<uuid><suffix>", the topic cut
// short if needed so the name fits in 255 bytes.
func retiredFolderName(k key, suffix string) string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	tail := "-" + strconv.Itoa(int(k.index)) + "." + hex.EncodeToString(u[:]) + suffix
	return k.topic[:min(len(k.topic), 255-len(tail))] + tail
}

// deleteFolder deletes the partition folder name (holding partition k of a
// deleted topic) as KRaft's LogManager does: it is first renamed to
// "...-delete" and the rename made durable, so that a crash while removing
// it leaves a folder whose name says it goes, and the next start removes
// it. A crash before the rename leaves the folder under its name; the next
// start removes it too, because the metadata records the deletion of the
// topic id in it.
func (m *Manager) deleteFolder(name string, k key) error {
	marked := filepath.Join(m.dir, retiredFolderName(k, deleteSuffix))
	if err := m.fsys.Rename(filepath.Join(m.dir, name), marked); err != nil {
		return err
	}
	if err := m.fsys.SyncDir(m.dir); err != nil {
		return err
	}
	if err := m.fsys.RemoveAll(marked); err != nil {
		return err
	}
	return m.fsys.SyncDir(m.dir)
}

// setAside retires the folder of partition k, which no hosted partition
// owns (why says whose it is, for the log). If the metadata image records
// the deletion of the topic id the folder holds, the folder is deleted;
// otherwise nobody can tell whose records it holds, and it is renamed
// "...-stray" and kept, with a warning, as Kafka does (KAFKA-14616): a broker
// whose metadata lost a topic must not delete the topic's records.
func (m *Manager) setAside(im *metadata.Image, k key, why string) error {
	name := FolderName(k.topic, k.index)
	id, idErr := m.folderTopicID(filepath.Join(m.dir, name))
	if idErr == nil && im.WasDeleted(id) {
		m.logger.Info("removing partition folder of a deleted topic", "dir", name, "topic_id", id)
		if err := m.deleteFolder(name, k); err != nil {
			return fmt.Errorf("partition: deleting %s: %w", name, err)
		}
		return nil
	}
	stray := retiredFolderName(k, straySuffix)
	if err := m.fsys.Rename(filepath.Join(m.dir, name), filepath.Join(m.dir, stray)); err != nil {
		return fmt.Errorf("partition: setting %s aside: %w", name, err)
	}
	if err := m.fsys.SyncDir(m.dir); err != nil {
		return fmt.Errorf("partition: setting %s aside: %w", name, err)
	}
	topicID := "unknown"
	if idErr == nil {
		topicID = id.String()
	}
	m.logger.Warn("partition folder belongs to no topic in the metadata ("+why+"): renamed it stray and kept its records; "+
		"delete it once you know it is not needed", "dir", name, "renamed_to", stray, "topic_id", topicID)
	return nil
}

// folderTopicID is the topic id a partition folder's partition.metadata
// holds.
func (m *Manager) folderTopicID(dir string) (metadata.TopicID, error) {
	var id metadata.TopicID
	content, err := m.readFile(filepath.Join(dir, partitionMetadataFile))
	if err != nil {
		return id, err
	}
	for line := range strings.Lines(content) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "topic_id: "); ok {
			return id, id.UnmarshalText([]byte(v))
		}
	}
	return id, errors.New("no topic_id")
}

// reconcileFolders runs on the first image: it makes the data directory's
// partition folders agree with the metadata without losing records it
// cannot account for. Folders marked "-delete" are removed (their deletion
// was decided); a partition folder no hosted partition owns is removed if
// the metadata deleted its topic, and set aside as stray otherwise
// (setAside); stray folders are left alone.
func (m *Manager) reconcileFolders(im *metadata.Image, want map[key]bool) error {
	names, err := m.fsys.ReadDir(m.dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("partition: %w", err)
	}
	var errs []error
	for _, n := range names {
		if strings.HasPrefix(n, "__cluster_metadata") {
			continue
		}
		if fi, err := m.fsys.Stat(filepath.Join(m.dir, n)); err != nil || !fi.IsDir() {
			continue
		}
		if k, ok := parseRetiredFolderName(n, deleteSuffix); ok {
			m.logger.Info("removing partition folder marked for deletion", "dir", n, "topic", k.topic, "partition", k.index)
			if err := m.fsys.RemoveAll(filepath.Join(m.dir, n)); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if k, ok := parseRetiredFolderName(n, straySuffix); ok {
			m.logger.Warn("stray partition folder kept from an earlier start: no topic in the metadata owns it; delete it once you know it is not needed",
				"dir", n, "topic", k.topic, "partition", k.index)
			continue
		}
		i := strings.LastIndexByte(n, '-')
		if i <= 0 {
			continue
		}
		idx, err := strconv.ParseInt(n[i+1:], 10, 32)
		if err != nil || idx < 0 || metadata.ValidateTopicName(n[:i]) != nil {
			continue
		}
		k := key{n[:i], int32(idx)}
		if want[k] {
			continue
		}
		errs = append(errs, m.setAside(im, k, "no such topic or partition"))
	}
	errs = append(errs, m.fsys.SyncDir(m.dir))
	return errors.Join(errs...)
}

// parseRetiredFolderName parses "topic-N.<32 hex digits><suffix>".
func parseRetiredFolderName(name, suffix string) (key, bool) {
	rest, ok := strings.CutSuffix(name, suffix)
	if !ok {
		return key{}, false
	}
	dot := strings.LastIndexByte(rest, '.')
	if dot < 0 || len(rest)-dot-1 != 32 {
		return key{}, false
	}
	if _, err := hex.DecodeString(rest[dot+1:]); err != nil {
		return key{}, false
	}
	rest = rest[:dot]
	i := strings.LastIndexByte(rest, '-')
	if i <= 0 {
		return key{}, false
	}
	idx, err := strconv.ParseInt(rest[i+1:], 10, 32)
	if err != nil || idx < 0 {
		return key{}, false
	}
	return key{rest[:i], int32(idx)}, true
}

// FlushAll fsyncs every partition now (shutdown).
func (m *Manager) FlushAll() error {
	var errs []error
	for _, p := range m.All() {
		if err := p.Flush(); err != nil && !errors.Is(err, storage.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Close closes every partition's log (after a final flush). If every log
// closed cleanly, it writes the clean-shutdown marker, so the next start
// trusts the logs instead of rescanning their active segments.
func (m *Manager) Close() error {
	flushErr := m.FlushAll()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	errs := []error{flushErr}
	for k, p := range m.parts {
		errs = append(errs, p.close())
		delete(m.parts, k)
	}
	for k, p := range m.prepared {
		errs = append(errs, m.deleteLog(k, p))
		delete(m.prepared, k)
	}
	m.sig.broadcast()
	err := errors.Join(errs...)
	if err == nil && m.started && !m.openFailed {
		err = m.writeCleanShutdownMarker()
	}
	return err
}

// signal is a broadcast: wait returns a channel that broadcast closes.
type signal struct {
	mu sync.Mutex
	ch chan struct{}
}

func newSignal() signal { return signal{ch: make(chan struct{})} }

func (s *signal) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ch
}

func (s *signal) broadcast() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.ch)
	s.ch = make(chan struct{})
}
