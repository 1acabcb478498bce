package group

import (
	"context"
	"sync"
	"time"

	"github.com/ordo-broker/ordo/broker/controller"
	"github.com/ordo-broker/ordo/broker/metadata"
	"github.com/ordo-broker/ordo/broker/partition"
	"github.com/ordo-broker/ordo/broker/recordbatch"
	"github.com/ordo-broker/ordo/broker/storage"
)

// memLog is an in-memory twin of a partition of __consumer_offsets:
// appends get offsets at once and commit when the test says (or at once),
// reads may be held back to keep a load in progress.
type memLog struct {
	mu         sync.Mutex
	batches    [][]byte
	next       int64
	committed  int64
	moved      chan struct{} // closed and replaced when committed moves
	autoCommit bool
	appendErr  error
	readGate   chan struct{} // reads wait for it when not nil
}

func newMemLog() *memLog { return &memLog{moved: make(chan struct{}), autoCommit: true} }

func (l *memLog) Append(records []byte, now time.Time) (partition.Appended, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.appendErr != nil {
		return partition.Appended{}, l.appendErr
	}
	b := append([]byte(nil), records...)
	h, err := recordbatch.ParseHeader(b)
	if err != nil {
		return partition.Appended{}, err
	}
	recordbatch.SetBaseOffset(b, l.next)
	n := int64(h.NumRecords)
	a := partition.Appended{AppendInfo: storage.AppendInfo{FirstOffset: l.next, LastOffset: l.next + n - 1}}
	l.next += n
	l.batches = append(l.batches, b)
	if l.autoCommit {
		l.commitLocked(l.next)
	}
	return a, nil
}

func (l *memLog) commitLocked(to int64) {
	if to > l.committed {
		l.committed = to
		close(l.moved)
		l.moved = make(chan struct{})
	}
}

// commitAll commits everything appended so far.
func (l *memLog) commitAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.commitLocked(l.next)
}

func (l *memLog) WaitCommitted(ctx context.Context, a partition.Appended, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		l.mu.Lock()
		done, moved := l.committed > a.LastOffset, l.moved
		l.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-moved:
		case <-t.C:
			return partition.ErrTimeout
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (l *memLog) Read(offset int64, maxBytes int, minOne bool) ([]byte, int64, error) {
	l.mu.Lock()
	gate := l.readGate
	l.mu.Unlock()
	if gate != nil {
		<-gate
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []byte
	for _, b := range l.batches {
		h, err := recordbatch.ParseHeader(b)
		if err != nil {
			return nil, 0, err
		}
		if h.LastOffset() >= offset && h.BaseOffset < l.committed {
			out = append(out, b...)
		}
	}
	return out, l.committed, nil
}

func (l *memLog) LogStartOffset() int64 { return 0 }

func (l *memLog) HighWatermark() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.committed
}

// memMetadata is a twin of the controller: an image with two brokers, in
// which __consumer_offsets (once created) has its partitions led by whoever
// the test says; every change is pushed to the coordinator as the
// controller's listener would.
type memMetadata struct {
	mu        sync.Mutex
	image     *metadata.Image
	listeners []func(prev, next *metadata.Image)
	leader    int32
}

func newMemMetadata(leader int32) *memMetadata {
	im, err := metadata.NewImage("test").Apply(
		metadata.Record{Broker: &metadata.BrokerRecord{NodeID: 0, Host: "127.0.0.1", Port: 9092}},
		metadata.Record{Broker: &metadata.BrokerRecord{NodeID: 1, Host: "127.0.0.1", Port: 9093}},
	)
	if err != nil {
		panic(err)
	}
	return &memMetadata{image: im, leader: leader}
}

func (m *memMetadata) Image() *metadata.Image {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.image
}

func (m *memMetadata) CreateTopic(ct controller.CreateTopic, _ controller.Defaults, _ bool) (*metadata.Topic, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t := m.image.Topics[ct.Name]; t != nil {
		return nil, controller.ErrTopicExists
	}
	id := metadata.NewTopicID()
	recs := []metadata.Record{{Topic: &metadata.TopicRecord{Name: ct.Name, TopicID: id, Internal: ct.Internal}}}
	for p := range ct.NumPartitions {
		recs = append(recs, metadata.Record{Partition: &metadata.PartitionRecord{
			TopicID: id, Partition: p, Replicas: []int32{m.leader}, ISR: []int32{m.leader}, Leader: m.leader,
		}})
	}
	return m.applyLocked(recs...).Topics[ct.Name], nil
}

// moveLeader gives every partition of __consumer_offsets a new leader and
// leader epoch.
func (m *memMetadata) moveLeader(to int32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.image.Topics[OffsetsTopic]
	var recs []metadata.Record
	for _, pr := range t.Partitions {
		pr.Leader, pr.LeaderEpoch = to, pr.LeaderEpoch+1
		pr.Replicas, pr.ISR = []int32{to}, []int32{to}
		recs = append(recs, metadata.Record{Partition: &pr})
	}
	m.leader = to
	m.applyLocked(recs...)
}

func (m *memMetadata) applyLocked(recs ...metadata.Record) *metadata.Image {
	next, err := m.image.Apply(recs...)
	if err != nil {
		panic(err)
	}
	prev := m.image
	m.image = next
	for _, l := range m.listeners {
		l(prev, next)
	}
	return next
}

func (m *memMetadata) subscribe(l func(prev, next *metadata.Image)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.listeners = append(m.listeners, l)
	l(nil, m.image)
}
