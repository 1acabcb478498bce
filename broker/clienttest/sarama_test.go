package clienttest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/ordo-broker/ordo/broker/ordotest"
)

// TestSarama runs sarama's producer, consumer, metadata and admin calls at
// the protocol level sarama used to default to (2.1) and at its current
// default (2.8 since v1.60.1): the two pick different request versions.
func TestSarama(t *testing.T) {
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
			testSarama(t, tc.version)
		})
	}
}

func saramaConfig(v sarama.KafkaVersion) *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = v
	cfg.ClientID = "ordo-clienttest"
	// sarama takes no contexts: its network timeouts bound every call.
	cfg.Net.DialTimeout = 10 * time.Second
	cfg.Net.ReadTimeout = 15 * time.Second
	cfg.Net.WriteTimeout = 10 * time.Second
	cfg.Admin.Timeout = 10 * time.Second
	cfg.Metadata.Retry.Backoff = 50 * time.Millisecond
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Return.Successes = true
	cfg.Producer.Idempotent = false // sarama's default; idempotence is tested with kgo (idempotence_test.go)
	cfg.Producer.Partitioner = sarama.NewHashPartitioner
	cfg.Consumer.Return.Errors = true
	cfg.Consumer.MaxWaitTime = 250 * time.Millisecond
	return cfg
}

func testSarama(t *testing.T, version sarama.KafkaVersion) {
	ctx := testContext(t, 60*time.Second)
	b := ordotest.Start(t)
	cfg := saramaConfig(version)
	const topic, partitions, n = "sarama", 3, 300

	admin, err := sarama.NewClusterAdmin([]string{b.Addr()}, cfg)
	if err != nil {
		t.Fatalf("NewClusterAdmin: %v", err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	retention := "3600000"
	if err := admin.CreateTopic(topic, &sarama.TopicDetail{
		NumPartitions:     partitions,
		ReplicationFactor: 1,
		ConfigEntries:     map[string]*string{"retention.ms": &retention},
	}, false); err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false); !errors.Is(err, sarama.ErrTopicAlreadyExists) {
		t.Errorf("creating %s twice: %v, want %v", topic, err, sarama.ErrTopicAlreadyExists)
	}

	mds, err := admin.DescribeTopics([]string{topic})
	if err != nil || len(mds) != 1 {
		t.Fatalf("DescribeTopics: %v (%d topics)", err, len(mds))
	}
	if mds[0].Err != sarama.ErrNoError || len(mds[0].Partitions) != partitions {
		t.Fatalf("DescribeTopics(%s): %v with %d partitions, want %d", topic, mds[0].Err, len(mds[0].Partitions), partitions)
	}
	for _, p := range mds[0].Partitions {
		if p.Err != sarama.ErrNoError || p.Leader != b.NodeID() || !slices.Equal(p.Replicas, []int32{b.NodeID()}) || !slices.Equal(p.Isr, []int32{b.NodeID()}) {
			t.Errorf("partition %d: %v leader %d replicas %v ISR %v; want all on node %d", p.ID, p.Err, p.Leader, p.Replicas, p.Isr, b.NodeID())
		}
	}
	listed, err := admin.ListTopics()
	if err != nil {
		t.Fatalf("ListTopics: %v", err)
	}
	if d, ok := listed[topic]; !ok || d.NumPartitions != partitions {
		t.Errorf("ListTopics: %s listed %v with %d partitions, want %d", topic, ok, d.NumPartitions, partitions)
	} else if v := d.ConfigEntries["retention.ms"]; v == nil || *v != retention {
		t.Errorf("ListTopics: %s has retention.ms %v, want %s", topic, v, retention)
	}

	client, err := sarama.NewClient([]string{b.Addr()}, cfg)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() { _ = client.Close() })

	// Metadata as the client caches it.
	topics, err := client.Topics()
	if err != nil || !slices.Contains(topics, topic) {
		t.Errorf("client.Topics() = %v, %v; want it to contain %s", topics, err, topic)
	}
	ps, err := client.Partitions(topic)
	if err != nil || !slices.Equal(ps, []int32{0, 1, 2}) {
		t.Errorf("client.Partitions(%s) = %v, %v; want [0 1 2]", topic, ps, err)
	}
	for _, p := range ps {
		leader, err := client.Leader(topic, p)
		if err != nil {
			t.Errorf("client.Leader(%s, %d): %v", topic, p, err)
			continue
		}
		if leader.ID() != b.NodeID() || leader.Addr() != b.Addr() {
			t.Errorf("leader of %s/%d is %d at %s, want %d at %s", topic, p, leader.ID(), leader.Addr(), b.NodeID(), b.Addr())
		}
	}
	if bs := client.Brokers(); len(bs) != 1 || bs[0].Addr() != b.Addr() {
		t.Errorf("client.Brokers() lists %d brokers, want exactly the one at %s", len(bs), b.Addr())
	}
	if c, err := client.Controller(); err != nil || c.ID() != b.NodeID() {
		t.Errorf("client.Controller() = %v, %v; want node %d", c, err, b.NodeID())
	}

	// Produce with acks=all.
	producer, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		t.Fatalf("NewSyncProducerFromClient: %v", err)
	}
	t.Cleanup(func() { _ = producer.Close() })
	base := pastBase()
	msgs := make([]*sarama.ProducerMessage, n)
	for i := range msgs {
		msgs[i] = &sarama.ProducerMessage{
			Topic:     topic,
			Key:       sarama.StringEncoder(fmt.Sprintf("key-%04d", i)),
			Value:     sarama.StringEncoder(fmt.Sprintf("value-%04d", i)),
			Headers:   []sarama.RecordHeader{{Key: []byte("seq"), Value: []byte(strconv.Itoa(i))}},
			Timestamp: base.Add(time.Duration(i) * time.Millisecond),
		}
	}
	// Half one by one, half as one call.
	for _, m := range msgs[:n/2] {
		if _, _, err := producer.SendMessage(m); err != nil {
			t.Fatalf("SendMessage: %v", err)
		}
	}
	if err := producer.SendMessages(msgs[n/2:]); err != nil {
		t.Fatalf("SendMessages: %v", err)
	}
	want := map[int32][]*sarama.ProducerMessage{}
	for _, m := range msgs {
		want[m.Partition] = append(want[m.Partition], m)
	}
	for p, ms := range want {
		for i, m := range ms {
			if m.Offset != int64(i) {
				t.Fatalf("partition %d: the %dth message produced was acknowledged at offset %d; offsets must be dense from 0 in production order", p, i, m.Offset)
			}
		}
	}
	if len(want) != partitions {
		t.Errorf("messages landed in %d partitions, want %d", len(want), partitions)
	}

	// Consume every partition from the oldest offset.
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatalf("NewConsumerFromClient: %v", err)
	}
	t.Cleanup(func() { _ = consumer.Close() })
	for p, ms := range want {
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatalf("ConsumePartition(%d): %v", p, err)
		}
		for i, w := range ms {
			var m *sarama.ConsumerMessage
			select {
			case m = <-pc.Messages():
			case err := <-pc.Errors():
				t.Fatalf("partition %d: %v", p, err)
			case <-ctx.Done():
				t.Fatalf("partition %d: consumed %d of %d messages: %v", p, i, len(ms), ctx.Err())
			}
			wk, _ := w.Key.Encode()
			wv, _ := w.Value.Encode()
			switch {
			case m.Offset != w.Offset:
				t.Fatalf("partition %d: message %d at offset %d, want %d", p, i, m.Offset, w.Offset)
			case !bytes.Equal(m.Key, wk) || !bytes.Equal(m.Value, wv):
				t.Fatalf("partition %d offset %d: %q=%q, want %q=%q", p, m.Offset, m.Key, m.Value, wk, wv)
			case m.Timestamp.UnixMilli() != w.Timestamp.UnixMilli():
				t.Fatalf("partition %d offset %d: timestamp %v, want %v", p, m.Offset, m.Timestamp, w.Timestamp)
			case len(m.Headers) != 1 || !bytes.Equal(m.Headers[0].Key, w.Headers[0].Key) || !bytes.Equal(m.Headers[0].Value, w.Headers[0].Value):
				t.Fatalf("partition %d offset %d: headers %v, want %v", p, m.Offset, m.Headers, w.Headers)
			}
		}
		if hw := pc.HighWaterMarkOffset(); hw != int64(len(ms)) {
			t.Errorf("partition %d: high watermark %d, want %d", p, hw, len(ms))
		}
		if err := pc.Close(); err != nil {
			t.Errorf("closing the partition consumer: %v", err)
		}
	}
	if off, err := client.GetOffset(topic, 0, sarama.OffsetNewest); err != nil || off != int64(len(want[0])) {
		t.Errorf("GetOffset(newest) = %d, %v; want %d", off, err, len(want[0]))
	}
	if off, err := client.GetOffset(topic, 0, sarama.OffsetOldest); err != nil || off != 0 {
		t.Errorf("GetOffset(oldest) = %d, %v; want 0", off, err)
	}

	if err := admin.DeleteTopic(topic); err != nil {
		t.Fatalf("DeleteTopic: %v", err)
	}
	listed, err = admin.ListTopics()
	if err != nil {
		t.Fatalf("ListTopics: %v", err)
	}
	if _, ok := listed[topic]; ok {
		t.Errorf("%s is still listed after DeleteTopic", topic)
	}
	mds, err = admin.DescribeTopics([]string{topic})
	if err != nil || len(mds) != 1 || mds[0].Err != sarama.ErrUnknownTopicOrPartition {
		t.Errorf("DescribeTopics after deleting: %v, %+v; want UNKNOWN_TOPIC_OR_PARTITION", err, mds)
	}
}
