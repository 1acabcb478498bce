package clienttest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ordo-broker/ordo/broker/ordotest"
	"github.com/twmb/franz-go/pkg/kgo"
)

// requireKafkaJS returns node's path, or skips (fails under CI=true) when
// node or js/node_modules/kafkajs is missing.
func requireKafkaJS(t *testing.T) string {
	t.Helper()
	node := requireTool(t, "node")
	if _, err := os.Stat(filepath.Join("js", "node_modules", "kafkajs", "package.json")); err != nil {
		missingDependency(t, "kafkajs is not installed: run `npm ci` in broker/clienttest/js (scripts/install-test-deps.sh does)")
	}
	return node
}

// kafkajsReport is what js/produce.js prints.
type kafkajsReport struct {
	Created      bool     `json:"created"`
	CreatedAgain bool     `json:"createdAgain"`
	Listed       []string `json:"listed"`
	Metadata     struct {
		Topics []struct {
			Name       string `json:"name"`
			Partitions []struct {
				ErrorCode int16   `json:"partitionErrorCode"`
				ID        int32   `json:"partitionId"`
				Leader    int32   `json:"leader"`
				Replicas  []int32 `json:"replicas"`
				ISR       []int32 `json:"isr"`
			} `json:"partitions"`
		} `json:"topics"`
	} `json:"metadata"`
	Sent []struct {
		Topic      string `json:"topicName"`
		Partition  int32  `json:"partition"`
		ErrorCode  int16  `json:"errorCode"`
		BaseOffset string `json:"baseOffset"`
	} `json:"sent"`
	Offsets []struct {
		Partition int32  `json:"partition"`
		Offset    string `json:"offset"`
		High      string `json:"high"`
		Low       string `json:"low"`
	} `json:"offsets"`
	ByTimestamp []struct {
		Partition int32  `json:"partition"`
		Offset    string `json:"offset"`
	} `json:"byTimestamp"`
	Base int64 `json:"base"`
}

// TestKafkaJS runs js/produce.js (kafkajs admin and an acks=-1 producer)
// against the broker, checks what kafkajs reported, and consumes the
// messages with kgo to check they arrived intact. kafkajs can only consume
// through groups: its consumer is in group_kafkajs_test.go.
func TestKafkaJS(t *testing.T) {
	node := requireKafkaJS(t)
	t.Parallel()
	ctx := testContext(t, 90*time.Second)
	b := ordotest.Start(t)
	const topic, n = "kafkajs", 300

	cmd := exec.CommandContext(ctx, node, filepath.Join("js", "produce.js"), b.Addr(), topic, strconv.Itoa(n))
	cmd.Env = append(os.Environ(), "KAFKAJS_NO_PARTITIONER_WARNING=1")
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node js/produce.js: %v (context: %v)\nstderr:\n%s", err, ctx.Err(), stderr.String())
	}
	if stderr.Len() > 0 {
		t.Logf("kafkajs stderr:\n%s", stderr.String())
	}
	var rep kafkajsReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("produce.js printed invalid JSON: %v\n%s", err, stdout.String())
	}

	if !rep.Created || rep.CreatedAgain {
		t.Errorf("admin.createTopics returned %v, then %v for the same topic; want true, then false (it exists)", rep.Created, rep.CreatedAgain)
	}
	if !slices.Contains(rep.Listed, topic) {
		t.Errorf("admin.listTopics() = %v, want it to contain %s", rep.Listed, topic)
	}
	if len(rep.Metadata.Topics) != 1 || rep.Metadata.Topics[0].Name != topic || len(rep.Metadata.Topics[0].Partitions) != 3 {
		t.Fatalf("admin.fetchTopicMetadata = %+v, want %s with 3 partitions", rep.Metadata.Topics, topic)
	}
	for _, p := range rep.Metadata.Topics[0].Partitions {
		node := []int32{b.NodeID()}
		if p.ErrorCode != 0 || p.Leader != b.NodeID() || !slices.Equal(p.Replicas, node) || !slices.Equal(p.ISR, node) {
			t.Errorf("partition %+v, want led by and in sync on node %d", p, b.NodeID())
		}
	}
	for _, s := range rep.Sent {
		if s.Topic != topic || s.ErrorCode != 0 || s.BaseOffset != "0" {
			t.Errorf("producer.send reported %+v, want no error and base offset 0 (one batch per partition)", s)
		}
	}

	// Read everything back with kgo and check it against what kafkajs
	// produced.
	got := drain(t, ctx, b, topic)
	seen := 0
	for p, rs := range got {
		for i, r := range rs {
			seen++
			seq, err := strconv.Atoi(string(r.Key[len("key-"):]))
			if err != nil {
				t.Fatalf("partition %d offset %d: unexpected key %q", p, r.Offset, r.Key)
			}
			want := rec{
				Partition: p,
				Offset:    int64(i),
				Key:       fmt.Appendf(nil, "key-%05d", seq),
				Value:     fmt.Appendf(nil, "value-%d", seq),
				Headers: []kgo.RecordHeader{
					{Key: "seq", Value: []byte(strconv.Itoa(seq))},
					{Key: "origin", Value: []byte("kafkajs")},
				},
				Timestamp: rep.Base + int64(seq),
			}
			if d := sameRecord(want, r); d != "" {
				t.Fatalf("partition %d offset %d: %s", p, r.Offset, d)
			}
			if i > 0 && bytes.Compare(rs[i-1].Key, r.Key) >= 0 {
				t.Fatalf("partition %d: %q at offset %d follows %q: not in the order kafkajs sent them", p, r.Key, r.Offset, rs[i-1].Key)
			}
		}
	}
	if seen != n {
		t.Errorf("kgo consumed %d messages, want the %d kafkajs produced", seen, n)
	}

	// admin.fetchTopicOffsets and fetchTopicOffsetsByTimestamp agree with the
	// log.
	if len(rep.Offsets) != 3 {
		t.Fatalf("admin.fetchTopicOffsets listed %d partitions, want 3", len(rep.Offsets))
	}
	for _, o := range rep.Offsets {
		want := strconv.Itoa(len(got[o.Partition]))
		if o.High != want || o.Offset != want || o.Low != "0" {
			t.Errorf("admin.fetchTopicOffsets partition %d: %+v, want low 0 and high %s", o.Partition, o, want)
		}
	}
	at := rep.Base + n/2
	for _, o := range rep.ByTimestamp {
		rs := got[o.Partition]
		want := len(rs) // nothing that late: kafkajs reports the end
		for i, r := range rs {
			if r.Timestamp >= at {
				want = i
				break
			}
		}
		if o.Offset != strconv.Itoa(want) {
			t.Errorf("admin.fetchTopicOffsetsByTimestamp partition %d: offset %s, want %d (first record at or after the timestamp)", o.Partition, o.Offset, want)
		}
	}
}
