package quorum

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/hashicorp/raft"
	"github.com/ordo-broker/ordo/broker/metadata"
)

// Listener is told every new committed image, in log order: prev is nil
// the first time (the image a node starts from), as with the controller's
// listeners.
type Listener func(prev, next *metadata.Image)

// fsm is the controller's state machine: each committed Raft entry is one
// change, a batch of metadata records, applied whole to the pure image or
// not at all. Every node applies the same entries in the same order, so
// every node has the same image at the same index.
type fsm struct {
	mu        sync.Mutex
	image     *metadata.Image
	index     uint64 // the last applied entry
	listeners []Listener
}

func newFSM(clusterID string) *fsm { return &fsm{image: metadata.NewImage(clusterID)} }

// entry is the encoding of one change in the Raft log (and of a snapshot:
// the records that rebuild the image).
type entry struct {
	ClusterID string            `json:"cluster_id,omitempty"`
	Records   []metadata.Record `json:"records"`
}

func encodeChange(recs []metadata.Record) ([]byte, error) {
	return json.Marshal(entry{Records: recs})
}

// Apply applies one committed change. A change that does not fit the
// image (it cannot happen unless the controller validated against a stale
// image) is refused on every node alike: the image stays, and the error is
// the entry's response, returned to the proposer.
func (f *fsm) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	var e entry
	if err := json.Unmarshal(l.Data, &e); err != nil {
		return fmt.Errorf("quorum: entry %d: %w", l.Index, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.index = l.Index
	next, err := f.image.Apply(e.Records...)
	if err != nil {
		return fmt.Errorf("quorum: entry %d: %w", l.Index, err)
	}
	prev := f.image
	f.image = next
	for _, li := range f.listeners {
		li(prev, next)
	}
	return nil
}

func (f *fsm) current() (*metadata.Image, uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.image, f.index
}

// subscribe adds a listener and gives it the current image at once.
func (f *fsm) subscribe(l Listener) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listeners = append(f.listeners, l)
	l(nil, f.image)
}

// Snapshot captures the image as its records (metadata.Image.Records).
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return snapshot{ClusterID: f.image.ClusterID, Records: f.image.Records()}, nil
}

// Restore replaces the image with a snapshot's.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var e entry
	if err := json.NewDecoder(rc).Decode(&e); err != nil {
		return fmt.Errorf("quorum: reading snapshot: %w", err)
	}
	next, err := metadata.NewImage(e.ClusterID).Apply(e.Records...)
	if err != nil {
		return fmt.Errorf("quorum: applying snapshot: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	prev := f.image
	f.image = next
	for _, li := range f.listeners {
		li(prev, next)
	}
	return nil
}

type snapshot entry

func (s snapshot) Persist(sink raft.SnapshotSink) error {
	if err := json.NewEncoder(sink).Encode(entry(s)); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("quorum: writing snapshot: %w", err)
	}
	return sink.Close()
}

func (snapshot) Release() {}
