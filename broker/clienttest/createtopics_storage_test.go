package clienttest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ordo-broker/ordo/broker"
	"github.com/ordo-broker/ordo/broker/ordotest"
)

// TestCreateTopicsRefusedWhenPartitionsCannotOpen: a topic whose partitions
// the broker cannot open is answered KAFKA_STORAGE_ERROR and not created
// at all (no metadata, no folders), instead of being acknowledged and left
// unserved; once the cause is gone the same request succeeds.
func TestCreateTopicsRefusedWhenPartitionsCannotOpen(t *testing.T) {
	dir := t.TempDir()
	b := ordotest.Start(t, ordotest.WithConfig(func(c *broker.Config) { c.DataDir = dir }))
	ctx := testContext(t, time.Minute)
	adm := newAdmin(t, b)

	// A file where partition 1's folder must go: its log cannot be opened.
	blocker := filepath.Join(dir, "doomed-1")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	resp, err := adm.CreateTopic(ctx, 3, 1, nil, "doomed")
	if !errors.Is(err, kerr.KafkaStorageError) {
		t.Fatalf("CreateTopics answered %v (%s), want KAFKA_STORAGE_ERROR", err, resp.ErrMessage)
	}
	t.Logf("CreateTopics: %v: %s", err, resp.ErrMessage)
	topics, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if topics.Has("doomed") {
		t.Fatal("the refused topic is in the metadata")
	}
	for _, p := range []string{"doomed-0", "doomed-2"} {
		if _, err := os.Stat(filepath.Join(dir, p)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s was left behind (stat: %v)", p, err)
		}
	}

	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	createTopic(t, ctx, adm, "doomed", 3, nil)
	cl := newClient(t, b, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	rs := []*kgo.Record{{Topic: "doomed", Partition: 1, Value: []byte("served")}}
	produceAll(t, ctx, cl, rs)
	requireSameLog(t, produced(rs), drain(t, ctx, b, "doomed"))
}
