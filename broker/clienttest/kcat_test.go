package clienttest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ordo-broker/ordo/broker/ordotest"
)

// runKcat runs kcat with args and stdin, bounded by ctx, and returns its
// stdout; it fails the test if kcat fails.
func runKcat(t *testing.T, ctx context.Context, kcat, stdin string, args ...string) string {
	t.Helper()
	// Each run gets its own bound, so one hung kcat (it retries protocol
	// errors forever) fails fast and says which step hung.
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kcat, args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kcat %s: %v (context: %v)\nstderr (last 2 KiB):\n%s", strings.Join(args, " "), err, ctx.Err(), tail(stderr.Bytes(), 2048))
	}
	return stdout.String()
}

// tail is the end of b, at most n bytes.
func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// kcatMetadata is the part of `kcat -L -J` these tests read.
type kcatMetadata struct {
	ControllerID int32 `json:"controllerid"`
	Brokers      []struct {
		ID   int32  `json:"id"`
		Name string `json:"name"`
	} `json:"brokers"`
	Topics []struct {
		Topic      string `json:"topic"`
		Error      string `json:"error"`
		Partitions []struct {
			Partition int32 `json:"partition"`
			Leader    int32 `json:"leader"`
			Replicas  []struct {
				ID int32 `json:"id"`
			} `json:"replicas"`
			ISRs []struct {
				ID int32 `json:"id"`
			} `json:"isrs"`
		} `json:"partitions"`
	} `json:"topics"`
}

// TestKcat drives librdkafka through kcat: metadata listing, keyed produce
// (plain and zstd-compressed, acks=all) to one partition, and consuming it
// back from the beginning to the end of the partition.
func TestKcat(t *testing.T) {
	kcat := requireTool(t, "kcat")
	t.Parallel()
	ctx := testContext(t, 90*time.Second)
	b := ordotest.Start(t)
	const topic = "kcat"
	createTopic(t, ctx, newAdmin(t, b), topic, 2, nil)

	t.Run("list", func(t *testing.T) {
		out := runKcat(t, ctx, kcat, "", "-b", b.Addr(), "-L")
		for _, want := range []string{
			fmt.Sprintf("broker %d at %s", b.NodeID(), b.Addr()),
			fmt.Sprintf("topic %q with 2 partitions", topic),
		} {
			if !strings.Contains(out, want) {
				t.Errorf("kcat -L does not mention %q:\n%s", want, out)
			}
		}

		var md kcatMetadata
		out = runKcat(t, ctx, kcat, "", "-b", b.Addr(), "-L", "-J", "-t", topic)
		if err := json.Unmarshal([]byte(out), &md); err != nil {
			t.Fatalf("kcat -L -J printed invalid JSON: %v\n%s", err, out)
		}
		if len(md.Brokers) != 1 || md.Brokers[0].ID != b.NodeID() || md.Brokers[0].Name != b.Addr() || md.ControllerID != b.NodeID() {
			t.Errorf("kcat sees brokers %+v with controller %d; want node %d at %s, the controller", md.Brokers, md.ControllerID, b.NodeID(), b.Addr())
		}
		if len(md.Topics) != 1 || md.Topics[0].Topic != topic || md.Topics[0].Error != "" || len(md.Topics[0].Partitions) != 2 {
			t.Fatalf("kcat sees topics %+v, want %s with 2 partitions", md.Topics, topic)
		}
		for _, p := range md.Topics[0].Partitions {
			if p.Leader != b.NodeID() || len(p.Replicas) != 1 || len(p.ISRs) != 1 || p.ISRs[0].ID != b.NodeID() {
				t.Errorf("partition %+v, want led by and in sync on node %d", p, b.NodeID())
			}
		}
	})

	var in, zin strings.Builder
	var want []string
	for i := range 200 {
		fmt.Fprintf(&in, "key-%03d:value %d\n", i, i)
		want = append(want, fmt.Sprintf("%d key-%03d=value %d origin=kcat", i, i, i))
	}
	for i := range 200 {
		fmt.Fprintf(&zin, "zkey-%03d:zstd value %d %s\n", i, i, strings.Repeat("z", i%50))
		want = append(want, fmt.Sprintf("%d zkey-%03d=zstd value %d %s origin=kcat", 200+i, i, i, strings.Repeat("z", i%50)))
	}
	produce := []string{"-P", "-b", b.Addr(), "-t", topic, "-p", "0", "-K:", "-H", "origin=kcat", "-X", "acks=all"}
	runKcat(t, ctx, kcat, in.String(), produce...)
	runKcat(t, ctx, kcat, zin.String(), append(produce, "-z", "zstd")...)

	out := runKcat(t, ctx, kcat, "", "-C", "-b", b.Addr(), "-t", topic, "-p", "0", "-o", "beginning", "-e", "-f", `%o %k=%s %h\n`)
	got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(got) != len(want) {
		t.Errorf("kcat consumed %d messages, want %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Fatalf("message %d: kcat consumed %q, want %q", i, got[i], want[i])
		}
	}

	ends, err := newAdmin(t, b).ListEndOffsets(ctx, topic)
	if err != nil || ends.Error() != nil {
		t.Fatalf("ListEndOffsets: %v / %v", err, ends.Error())
	}
	if e0, e1 := ends[topic][0].Offset, ends[topic][1].Offset; e0 != 400 || e1 != 0 {
		t.Errorf("end offsets after producing 400 messages to partition 0: %d and %d, want 400 and 0", e0, e1)
	}
}
