package clienttest

import (
	"context"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// TestSaramaConsumerGroup consumes a topic with sarama.NewConsumerGroup, at
// sarama's old default protocol level (2.1) and its current one, marks
// every message with metadata, and checks the committed offsets and their
// metadata after the group closes.
func TestSaramaConsumerGroup(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		version sarama.KafkaVersion
	}{
		{"V2_1_0_0", sarama.V2_1_0_0},
		{"default-" + sarama.NewConfig().Version.String(), sarama.NewConfig().Version},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testSaramaConsumerGroup(t, tc.version)
		})
	}
}

func testSaramaConsumerGroup(t *testing.T, version sarama.KafkaVersion) {
	ctx := testContext(t, 60*time.Second)
	b := startGroupBroker(t)
	adm := newAdmin(t, b)
	const topic, group, partitions, per = "sarama-group", "sarama-group", 3, 10
	createTopic(t, ctx, adm, topic, partitions, nil)
	want := produceValues(t, ctx, newClient(t, b, manualPartitions()), topic, partitions, per, 0)

	cfg := saramaConfig(version)
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Interval = 100 * time.Millisecond
	cfg.Consumer.Group.Session.Timeout = 6 * time.Second
	cfg.Consumer.Group.Heartbeat.Interval = 200 * time.Millisecond
	cfg.Consumer.Group.Rebalance.Timeout = 5 * time.Second
	cg, err := sarama.NewConsumerGroup([]string{b.Addr()}, group, cfg)
	if err != nil {
		t.Fatalf("NewConsumerGroup: %v", err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = cg.Close()
		}
	})

	h := &saramaHandler{want: len(want), done: make(chan struct{})}
	consumeCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		for consumeCtx.Err() == nil {
			if err := cg.Consume(consumeCtx, []string{topic}, h); err != nil && consumeCtx.Err() == nil {
				t.Logf("Consume: %v", err)
			}
		}
	}()
	select {
	case <-h.done:
	case <-ctx.Done():
		t.Fatalf("sarama consumed %d of %d messages", len(h.values()), len(want))
	}
	stop()
	if err := cg.Close(); err != nil { // commits what was marked
		t.Errorf("Close: %v", err)
	}
	closed = true

	got := h.values()
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Errorf("sarama consumed %d messages, want the %d produced, each once", len(got), len(want))
	}
	for p, meta := range waitCommitted(t, ctx, adm, group, topic, partitions, per) {
		if meta != "sarama-mark" {
			t.Errorf("partition %d: committed metadata %q, want sarama-mark", p, meta)
		}
	}
}

type saramaHandler struct {
	want int
	done chan struct{}
	once sync.Once
	mu   sync.Mutex
	got  []string
}

func (h *saramaHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *saramaHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h *saramaHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for {
		select {
		case m, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			sess.MarkMessage(m, "sarama-mark")
			h.mu.Lock()
			h.got = append(h.got, string(m.Value))
			if len(h.got) >= h.want {
				h.once.Do(func() { close(h.done) })
			}
			h.mu.Unlock()
		case <-sess.Context().Done():
			return nil
		}
	}
}

func (h *saramaHandler) values() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.got)
}
