package clienttest

import (
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestKcatGroup consumes with `kcat -G` (librdkafka's balanced consumer:
// FindCoordinator, JoinGroup v5, SyncGroup v3, Heartbeat, OffsetCommit,
// LeaveGroup), which commits on close; a second run in the same group
// reads only what was produced after.
func TestKcatGroup(t *testing.T) {
	kcat := requireTool(t, "kcat")
	t.Parallel()
	ctx := testContext(t, 90*time.Second)
	b := startGroupBroker(t)
	adm := newAdmin(t, b)
	const topic, group, partitions, per = "kcat-group", "kcat-group", 3, 10
	createTopic(t, ctx, adm, topic, partitions, nil)
	producer := newClient(t, b, manualPartitions())
	want := produceValues(t, ctx, producer, topic, partitions, per, 0)

	consume := func(n int) []string {
		out := runKcat(t, ctx, kcat, "", "-b", b.Addr(), "-G", group, topic,
			"-c", itoa(n), "-q", "-f", `%s\n`,
			"-X", "auto.offset.reset=earliest",
			"-X", "session.timeout.ms=6000",
			"-X", "heartbeat.interval.ms=200",
			"-X", "fetch.wait.max.ms=100")
		got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		sort.Strings(got)
		return got
	}
	if got := consume(len(want)); !slices.Equal(got, want) {
		t.Fatalf("kcat -G consumed %v, want %v", got, want)
	}
	waitCommitted(t, ctx, adm, group, topic, partitions, per)

	more := produceValues(t, ctx, producer, topic, partitions, 1, per)
	if got := consume(len(more)); !slices.Equal(got, more) {
		t.Errorf("the second kcat -G consumed %v, want only %v", got, more)
	}
}
