package clienttest

import (
	"bytes"
	"fmt"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ordo-broker/ordo/broker/ordotest"
	"github.com/segmentio/kafka-go"
)

// TestKafkaGo creates a topic with kafka.Client, writes 1,000 keyed messages
// with headers through a kafka.Writer with acks=all and a hash balancer, and
// reads every partition back in order with partition Readers (no group).
func TestKafkaGo(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 60*time.Second)
	b := ordotest.Start(t)
	const topic, partitions, n = "kafka-go", 4, 1000

	client := &kafka.Client{Addr: kafka.TCP(b.Addr()), Timeout: 10 * time.Second}
	created, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{
		Topics: []kafka.TopicConfig{{Topic: topic, NumPartitions: partitions, ReplicationFactor: 1}},
	})
	if err != nil {
		t.Fatalf("Client.CreateTopics: %v", err)
	}
	if err := created.Errors[topic]; err != nil {
		t.Fatalf("Client.CreateTopics(%s): %v", topic, err)
	}
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		t.Fatalf("Client.Metadata: %v", err)
	}
	if len(md.Topics) != 1 || md.Topics[0].Error != nil || len(md.Topics[0].Partitions) != partitions {
		t.Fatalf("Client.Metadata(%s) = %+v, want %d partitions", topic, md.Topics, partitions)
	}
	for _, p := range md.Topics[0].Partitions {
		if p.Leader.ID != int(b.NodeID()) || net.JoinHostPort(p.Leader.Host, strconv.Itoa(p.Leader.Port)) != b.Addr() {
			t.Errorf("partition %d: leader %d at %s:%d, want %d at %s", p.ID, p.Leader.ID, p.Leader.Host, p.Leader.Port, b.NodeID(), b.Addr())
		}
	}

	// kafka-go's Writer defaults to acks=0: ask for all explicitly.
	w := &kafka.Writer{
		Addr:         kafka.TCP(b.Addr()),
		Topic:        topic,
		Balancer:     &kafka.Hash{},
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: 5 * time.Millisecond,
		WriteTimeout: 15 * time.Second,
		ReadTimeout:  15 * time.Second,
	}
	t.Cleanup(func() { _ = w.Close() })
	base := pastBase()
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		msgs[i] = kafka.Message{
			Key:   fmt.Appendf(nil, "key-%04d", i),
			Value: fmt.Appendf(nil, "value-%04d", i),
			Headers: []kafka.Header{
				{Key: "seq", Value: []byte(strconv.Itoa(i))},
				{Key: "origin", Value: []byte("kafka-go")},
			},
			Time: base.Add(time.Duration(i) * time.Millisecond),
		}
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("Writer.WriteMessages: %v", err)
	}

	// The hash balancer is deterministic: the same key picks the same
	// partition, so the expected log of each partition is known.
	want := map[int][]kafka.Message{}
	all := make([]int, partitions)
	for i := range all {
		all[i] = i
	}
	for _, m := range msgs {
		p := (&kafka.Hash{}).Balance(m, all...)
		want[p] = append(want[p], m)
	}
	if len(want) != partitions {
		t.Errorf("messages were hashed to %d partitions, want %d", len(want), partitions)
	}

	for p := range partitions {
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers:   []string{b.Addr()},
			Topic:     topic,
			Partition: p,
			MinBytes:  1,
			MaxBytes:  10 << 20,
			MaxWait:   250 * time.Millisecond,
		})
		t.Cleanup(func() { _ = r.Close() })
		if err := r.SetOffset(kafka.FirstOffset); err != nil {
			t.Fatalf("SetOffset: %v", err)
		}
		for i, wm := range want[p] {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				t.Fatalf("partition %d: read %d of %d messages: %v", p, i, len(want[p]), err)
			}
			switch {
			case m.Partition != p || m.Offset != int64(i):
				t.Fatalf("partition %d: message %d came from %d/%d, want %d/%d", p, i, m.Partition, m.Offset, p, i)
			case !bytes.Equal(m.Key, wm.Key) || !bytes.Equal(m.Value, wm.Value):
				t.Fatalf("partition %d offset %d: %s=%s, want %s=%s", p, m.Offset, m.Key, m.Value, wm.Key, wm.Value)
			case !m.Time.Equal(wm.Time):
				t.Fatalf("partition %d offset %d: time %v, want %v", p, m.Offset, m.Time, wm.Time)
			case !slices.EqualFunc(m.Headers, wm.Headers, func(a, b kafka.Header) bool { return a.Key == b.Key && bytes.Equal(a.Value, b.Value) }):
				t.Fatalf("partition %d offset %d: headers %v, want %v", p, m.Offset, m.Headers, wm.Headers)
			}
		}
		if lag := r.Lag(); lag != 0 {
			t.Errorf("partition %d: reader lag %d after reading everything, want 0", p, lag)
		}
	}

	// The end offsets agree with what was written.
	var reqs []kafka.OffsetRequest
	for p := range partitions {
		reqs = append(reqs, kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p))
	}
	offs, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		t.Fatalf("Client.ListOffsets: %v", err)
	}
	for _, po := range offs.Topics[topic] {
		if po.Error != nil || po.FirstOffset != 0 || po.LastOffset != int64(len(want[po.Partition])) {
			t.Errorf("partition %d: offsets [%d, %d) (%v), want [0, %d)", po.Partition, po.FirstOffset, po.LastOffset, po.Error, len(want[po.Partition]))
		}
	}
}

// TestKafkaGoConnCreateTopics creates a topic the older way, on a kafka.Conn
// to the controller, and lists its partitions with the same Conn API.
func TestKafkaGoConnCreateTopics(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 30*time.Second)
	b := ordotest.Start(t)
	const topic = "kafka-go-conn"

	conn, err := kafka.DialContext(ctx, "tcp", b.Addr())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	ctl, err := conn.Controller()
	if err != nil {
		t.Fatalf("Conn.Controller: %v", err)
	}
	if ctl.ID != int(b.NodeID()) || net.JoinHostPort(ctl.Host, strconv.Itoa(ctl.Port)) != b.Addr() {
		t.Fatalf("controller is %d at %s:%d, want %d at %s", ctl.ID, ctl.Host, ctl.Port, b.NodeID(), b.Addr())
	}
	cc, err := kafka.DialContext(ctx, "tcp", net.JoinHostPort(ctl.Host, strconv.Itoa(ctl.Port)))
	if err != nil {
		t.Fatalf("Dial controller: %v", err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	_ = cc.SetDeadline(deadline)
	if err := cc.CreateTopics(kafka.TopicConfig{
		Topic:             topic,
		NumPartitions:     2,
		ReplicationFactor: 1,
		ConfigEntries:     []kafka.ConfigEntry{{ConfigName: "retention.ms", ConfigValue: "3600000"}},
	}); err != nil {
		t.Fatalf("Conn.CreateTopics: %v", err)
	}
	ps, err := conn.ReadPartitions(topic)
	if err != nil {
		t.Fatalf("Conn.ReadPartitions: %v", err)
	}
	if len(ps) != 2 {
		t.Fatalf("Conn.ReadPartitions(%s) = %d partitions, want 2", topic, len(ps))
	}
	for _, p := range ps {
		if p.Topic != topic || p.Leader.ID != int(b.NodeID()) || len(p.Replicas) != 1 || len(p.Isr) != 1 {
			t.Errorf("partition %+v, want led by and replicated on node %d", p, b.NodeID())
		}
	}
}
