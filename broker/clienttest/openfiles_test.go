package clienttest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ordo-broker/ordo/broker"
	"github.com/ordo-broker/ordo/broker/ordotest"
)

// descriptorsUnder counts this process's open descriptors on files under
// dir (Linux: /proc/self/fd).
func descriptorsUnder(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("reading /proc/self/fd: %v", err)
	}
	n := 0
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err == nil && strings.HasPrefix(target, dir+string(filepath.Separator)) {
			n++
		}
	}
	return n
}

// TestOpenFilesStayBounded: with --max-open-files 16, a broker hosting 200
// partitions (600 segment and index files) produces to and reads from all
// of them holding at most 16 descriptors for its logs (plus the metadata
// log's), and the data is intact after a restart.
func TestOpenFilesStayBounded(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("counts descriptors through /proc/self/fd")
	}
	const limit, partitions = 16, 200
	// The controller's record log holds one more; a directory fsync holds
	// one for a moment.
	const slack = 2
	dir := t.TempDir()
	b := ordotest.Start(t, ordotest.WithConfig(func(c *broker.Config) {
		c.DataDir = dir
		c.MaxOpenFiles = limit
		c.LogCleanerInterval = -1
	}))
	ctx := testContext(t, 2*time.Minute)
	adm := newAdmin(t, b)
	createTopic(t, ctx, adm, "wide", partitions, nil)

	cl := newClient(t, b, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var rs []*kgo.Record
	for round := range 3 {
		for p := range partitions {
			rs = append(rs, &kgo.Record{Topic: "wide", Partition: int32(p),
				Key: []byte(fmt.Sprintf("k%d", p)), Value: []byte(fmt.Sprintf("round %d of partition %d", round, p))})
		}
	}
	produceAll(t, ctx, cl, rs)
	want := produced(rs)
	requireDenseFromZero(t, want)
	if n := descriptorsUnder(t, dir); n > limit+slack {
		t.Fatalf("after producing to %d partitions the broker holds %d descriptors under its data directory, more than the limit %d (+%d)", partitions, n, limit, slack)
	}
	requireSameLog(t, want, drain(t, ctx, b, "wide"))
	n := descriptorsUnder(t, dir)
	if n > limit+slack {
		t.Fatalf("after reading %d partitions the broker holds %d descriptors under its data directory, more than the limit %d (+%d)", partitions, n, limit, slack)
	}
	t.Logf("%d partitions, %d descriptors under the data directory (limit %d)", partitions, n, limit)

	b.Restart()
	requireSameLog(t, want, drain(t, ctx, b, "wide"))
	if n := descriptorsUnder(t, dir); n > limit+slack {
		t.Fatalf("after a restart the broker holds %d descriptors under its data directory, more than the limit %d (+%d)", n, limit, slack)
	}
}
