package clienttest

import (
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// TestKafkaGoGroupReader reads a topic with a kafka-go Reader in a consumer
// group (JoinGroup v1-2, SyncGroup v0, OffsetCommit v2, OffsetFetch v1),
// committing each message; a second Reader of the same group then starts
// after the committed offsets.
func TestKafkaGoGroupReader(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 60*time.Second)
	b := startGroupBroker(t)
	adm := newAdmin(t, b)
	const topic, group, partitions, per = "kafka-go-group", "kafka-go-group", 3, 10
	createTopic(t, ctx, adm, topic, partitions, nil)
	producer := newClient(t, b, manualPartitions())
	want := produceValues(t, ctx, producer, topic, partitions, per, 0)

	reader := func() *kafka.Reader {
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers:           []string{b.Addr()},
			GroupID:           group,
			Topic:             topic,
			StartOffset:       kafka.FirstOffset,
			MaxWait:           250 * time.Millisecond,
			HeartbeatInterval: 200 * time.Millisecond,
			SessionTimeout:    6 * time.Second,
			RebalanceTimeout:  5 * time.Second,
			JoinGroupBackoff:  100 * time.Millisecond,
			ReadBackoffMin:    50 * time.Millisecond,
			ReadBackoffMax:    200 * time.Millisecond,
		})
		t.Cleanup(func() { _ = r.Close() })
		return r
	}
	read := func(r *kafka.Reader, n int) []string {
		var got []string
		for len(got) < n {
			m, err := r.FetchMessage(ctx)
			if err != nil {
				t.Fatalf("FetchMessage after %d messages: %v", len(got), err)
			}
			if err := r.CommitMessages(ctx, m); err != nil {
				t.Fatalf("CommitMessages: %v", err)
			}
			got = append(got, string(m.Value))
		}
		sort.Strings(got)
		return got
	}

	r1 := reader()
	if got := read(r1, len(want)); !slices.Equal(got, want) {
		t.Errorf("kafka-go consumed %v, want %v", got, want)
	}
	if err := r1.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	waitCommitted(t, ctx, adm, group, topic, partitions, per)

	more := produceValues(t, ctx, producer, topic, partitions, 2, per)
	if got := read(reader(), len(more)); !slices.Equal(got, more) {
		t.Errorf("the second Reader consumed %v, want only what came after the commit: %v", got, more)
	}
}
