package clienttest

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// kafkajsGroupReport is what js/consume.js prints.
type kafkajsGroupReport struct {
	Seen []struct {
		Partition int32  `json:"partition"`
		Offset    string `json:"offset"`
		Value     string `json:"value"`
	} `json:"seen"`
	Listed struct {
		Groups []struct {
			GroupID      string `json:"groupId"`
			ProtocolType string `json:"protocolType"`
		} `json:"groups"`
	} `json:"listed"`
	Described struct {
		Groups []struct {
			GroupID      string `json:"groupId"`
			State        string `json:"state"`
			ProtocolType string `json:"protocolType"`
			Members      []struct {
				ClientID string `json:"clientId"`
			} `json:"members"`
		} `json:"groups"`
	} `json:"described"`
	Offsets []struct {
		Topic      string `json:"topic"`
		Partitions []struct {
			Partition int32  `json:"partition"`
			Offset    string `json:"offset"`
		} `json:"partitions"`
	} `json:"offsets"`
}

// TestKafkaJSConsumerGroup runs js/consume.js: a kafkajs consumer group
// member (JoinGroup v5, SyncGroup v3, OffsetCommit v5, OffsetFetch v4)
// reads every message once and commits, and kafkajs' admin client lists
// and describes the group and fetches its offsets.
func TestKafkaJSConsumerGroup(t *testing.T) {
	node := requireKafkaJS(t)
	t.Parallel()
	ctx := testContext(t, 90*time.Second)
	b := startGroupBroker(t)
	adm := newAdmin(t, b)
	const topic, group, partitions, per = "kafkajs-group", "kafkajs-group", 3, 10
	createTopic(t, ctx, adm, topic, partitions, nil)
	// kafkajs cannot read snappy, kgo's default compression.
	producer := newClient(t, b, manualPartitions(), kgo.ProducerBatchCompression(kgo.NoCompression()))
	want := produceValues(t, ctx, producer, topic, partitions, per, 0)

	cmd := exec.CommandContext(ctx, node, filepath.Join("js", "consume.js"), b.Addr(), topic, group, strconv.Itoa(len(want)))
	cmd.Env = append(os.Environ(), "KAFKAJS_NO_PARTITIONER_WARNING=1")
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node js/consume.js: %v (context: %v)\nstderr:\n%s", err, ctx.Err(), stderr.String())
	}
	if stderr.Len() > 0 {
		t.Logf("kafkajs stderr:\n%s", stderr.String())
	}
	var rep kafkajsGroupReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("consume.js printed invalid JSON: %v\n%s", err, stdout.String())
	}

	var got []string
	for _, m := range rep.Seen {
		got = append(got, m.Value)
	}
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Errorf("kafkajs consumed %v, want each of %v once", got, want)
	}
	if !slices.ContainsFunc(rep.Listed.Groups, func(g struct {
		GroupID      string `json:"groupId"`
		ProtocolType string `json:"protocolType"`
	}) bool {
		return g.GroupID == group && g.ProtocolType == "consumer"
	}) {
		t.Errorf("admin.listGroups() = %+v, want %s (consumer)", rep.Listed.Groups, group)
	}
	if d := rep.Described.Groups; len(d) != 1 || d[0].State != "Stable" || len(d[0].Members) != 1 || d[0].Members[0].ClientID != "ordo-clienttest-consumer" {
		t.Errorf("admin.describeGroups() = %+v, want the group Stable with the one kafkajs member", d)
	}
	if len(rep.Offsets) != 1 || len(rep.Offsets[0].Partitions) != partitions {
		t.Fatalf("admin.fetchOffsets() = %+v, want %d partitions of %s", rep.Offsets, partitions, topic)
	}
	for _, p := range rep.Offsets[0].Partitions {
		if p.Offset != strconv.Itoa(per) {
			t.Errorf("admin.fetchOffsets(): partition %d at %s, want %d", p.Partition, p.Offset, per)
		}
	}
	waitCommitted(t, ctx, adm, group, topic, partitions, per)
}
