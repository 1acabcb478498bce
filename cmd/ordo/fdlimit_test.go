//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"hash/crc32"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordo-broker/ordo/broker/wire/wiretest"
)

// In the child process of these tests (ORDO_TEST_RUN_MAIN=1, see
// TestMain), ORDO_TEST_RLIMIT_NOFILE lowers the open-file limit before
// main runs: init runs before TestMain.
func init() {
	v := os.Getenv("ORDO_TEST_RLIMIT_NOFILE")
	if os.Getenv("ORDO_TEST_RUN_MAIN") != "1" || v == "" {
		return
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err == nil {
		err = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: n, Max: n})
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "ORDO_TEST_RLIMIT_NOFILE=%s: %v\n", v, err)
		os.Exit(3)
	}
}

// child is an ordo process started by a test, with its log collected.
type child struct {
	t      *testing.T
	cmd    *exec.Cmd
	addr   string
	exited chan struct{}
	err    error // cmd.Wait's, once exited is closed

	mu  sync.Mutex
	log strings.Builder
	new chan struct{} // closed and replaced at every log line
}

// startChild runs ordo with args under an open-file limit of nofile and
// waits for it to listen.
func startChild(t *testing.T, nofile int, args ...string) *child {
	t.Helper()
	cmd := mainCommand(t, append([]string{"--listen", "127.0.0.1:0", "--data-dir", filepath.Join(t.TempDir(), "data")}, args...)...)
	cmd.Env = append(cmd.Env, "ORDO_TEST_RLIMIT_NOFILE="+strconv.Itoa(nofile))
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	c := &child{t: t, cmd: cmd, exited: make(chan struct{}), new: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			c.mu.Lock()
			c.log.WriteString(sc.Text() + "\n")
			close(c.new)
			c.new = make(chan struct{})
			c.mu.Unlock()
		}
		c.err = cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-c.exited
		if t.Failed() {
			t.Logf("ordo's log:\n%s", c.logText())
		}
	})
	line := c.waitForLog("ordo listening")
	m := regexp.MustCompile(` addr=(\S+)`).FindStringSubmatch(line)
	require.NotNil(t, m, "no address in %q", line)
	c.addr = m[1]
	return c
}

func (c *child) logText() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.log.String()
}

// waitForLog waits (up to a minute) for a log line containing s and
// returns it.
func (c *child) waitForLog(s string) string {
	c.t.Helper()
	deadline := time.After(time.Minute)
	for {
		c.mu.Lock()
		text, next := c.log.String(), c.new
		c.mu.Unlock()
		if i := strings.Index(text, s); i >= 0 {
			line, _, _ := strings.Cut(text[strings.LastIndex(text[:i], "\n")+1:], "\n")
			return line
		}
		select {
		case <-next:
		case <-c.exited:
			c.t.Fatalf("ordo exited (%v) before logging %q", c.err, s)
		case <-deadline:
			c.t.Fatalf("no %q in ordo's log after a minute", s)
		}
	}
}

func (c *child) requireRunning() {
	c.t.Helper()
	select {
	case <-c.exited:
		c.t.Fatalf("ordo exited: %v", c.err)
	default:
	}
}

// flood opens idle connections to addr until the child logs want (it has
// run out of descriptors, or refuses connections), and returns them.
func flood(t *testing.T, c *child, max int, want string) []net.Conn {
	t.Helper()
	var conns []net.Conn
	t.Cleanup(func() {
		for _, nc := range conns {
			nc.Close()
		}
	})
	for len(conns) < max && !strings.Contains(c.logText(), want) {
		nc, err := net.DialTimeout("tcp", c.addr, 10*time.Second)
		require.NoError(t, err)
		conns = append(conns, nc)
	}
	c.waitForLog(want)
	return conns
}

// batchOf is a v2 record batch of one record per value.
func batchOf(values ...string) []byte {
	var recs []byte
	for i, v := range values {
		r := kmsg.Record{OffsetDelta: int32(i), Value: []byte(v)}
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		recs = r.AppendTo(recs)
	}
	now := time.Now().UnixMilli()
	rb := kmsg.RecordBatch{Magic: 2, LastOffsetDelta: int32(len(values) - 1), FirstTimestamp: now, MaxTimestamp: now,
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: int32(len(values)), Records: recs}
	rb.Length = int32(len(rb.AppendTo(nil)) - 12)
	raw := rb.AppendTo(nil)
	rb.CRC = int32(crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return rb.AppendTo(nil)
}

// produceRaw sends one acks=all produce of values to topic's partition 0
// on conn and returns the partition's error code and message.
func produceRaw(conn *wiretest.Conn, topic string, values ...string) (int16, string) {
	req := kmsg.NewPtrProduceRequest()
	req.SetVersion(9)
	req.Acks = -1
	req.TimeoutMillis = 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = batchOf(values...)
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := conn.RoundTrip(req).(*kmsg.ProduceResponse)
	p := resp.Topics[0].Partitions[0]
	msg := ""
	if p.ErrorMessage != nil {
		msg = *p.ErrorMessage
	}
	return p.ErrorCode, msg
}

// consumeAll reads every record of topic's partition 0 with a new client.
func consumeAll(t *testing.T, ctx context.Context, addr, topic string, want int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
		topic: {0: kgo.NewOffset().AtStart()},
	}))
	require.NoError(t, err)
	defer cl.Close()
	var got []*kgo.Record
	for len(got) < want {
		fs := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "read %d of %d records of %s", len(got), want, topic)
		fs.EachError(func(_ string, _ int32, err error) { require.NoError(t, err) })
		got = append(got, fs.Records()...)
	}
	return got
}

// Running out of file descriptors is not a storage failure. With
// max.connections off, idle connections fill a broker's descriptor table
// (its accept loop reports EMFILE). Then the first produce to a topic
// created before (whose first append writes the leader-epoch checkpoint:
// this used to take the broker down as if its disk had failed) fails with
// the retriable REQUEST_TIMED_OUT, a produce to a topic auto-created now
// (its log cannot be opened) fails retriably too (UNKNOWN_TOPIC_OR_PARTITION),
// and a produce to a partition already open still succeeds. The broker stays up; once the
// connections close, the new topic takes records, and every record
// acknowledged before is read back.
func TestOutOfFileDescriptorsIsNotAStorageFailure(t *testing.T) {
	c := startChild(t, 200, "--max-connections", "-1")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	cl, err := kgo.NewClient(kgo.SeedBrokers(c.addr), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.DefaultProduceTopic("before"))
	require.NoError(t, err)
	defer cl.Close()
	adm := kadm.NewClient(cl)
	for _, topic := range []string{"before", "fresh"} {
		_, err := adm.CreateTopic(ctx, 1, 1, nil, topic)
		require.NoError(t, err)
	}
	var acked []string
	for i := range 20 {
		v := fmt.Sprintf("before-%d", i)
		require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Value: []byte(v)}).FirstErr())
		acked = append(acked, v)
	}
	raw := wiretest.Dial(t, c.addr) // opened before the flood
	api := kmsg.NewPtrApiVersionsRequest()
	api.SetVersion(3)
	api.ClientSoftwareName, api.ClientSoftwareVersion = "fdlimit-test", "1"
	raw.RoundTrip(api)

	conns := flood(t, c, 1000, "too many open files")
	t.Logf("%d idle connections exhausted the broker's 200 descriptors", len(conns))

	code, msg := produceRaw(raw, "fresh", "fresh-under-emfile")
	assert.Equal(t, kerr.RequestTimedOut.Code, code, "the epoch checkpoint cannot be opened: retriable; message %q", msg)
	assert.Contains(t, msg, "too many open files")

	meta := kmsg.NewPtrMetadataRequest()
	meta.SetVersion(12)
	meta.AllowAutoTopicCreation = true
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr("brand-new")
	meta.Topics = append(meta.Topics, mt)
	raw.RoundTrip(meta)
	code, msg = produceRaw(raw, "brand-new", "new-under-emfile")
	assert.True(t, kerr.IsRetriable(kerr.ErrorForCode(code)), "a new topic whose log cannot open: code %d (%s) must be retriable", code, msg)
	// (That topic's log is opened with the next metadata change:
	// partition.Manager does not retry a failed open on its own.)

	code, msg = produceRaw(raw, "before", "before-under-emfile")
	require.Equal(t, int16(0), code, "an open partition needs no new descriptor: %s", msg)
	acked = append(acked, "before-under-emfile")
	c.requireRunning()

	for _, nc := range conns {
		nc.Close()
	}
	// The broker closes its ends as it sees the closes: retry until the
	// checkpoint can be written; every answer meanwhile is retriable.
	for {
		code, msg = produceRaw(raw, "fresh", "fresh-after")
		if code == 0 {
			break
		}
		require.True(t, kerr.IsRetriable(kerr.ErrorForCode(code)), "code %d (%s)", code, msg)
		require.NoError(t, ctx.Err(), "the produce never succeeded after the connections closed")
		time.Sleep(50 * time.Millisecond)
	}
	require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Topic: "fresh", Value: []byte("fresh-kgo")}).FirstErr())
	c.requireRunning()

	got := consumeAll(t, ctx, c.addr, "before", len(acked))
	require.Len(t, got, len(acked))
	for i, r := range got {
		assert.Equal(t, int64(i), r.Offset)
		assert.Equal(t, acked[i], string(r.Value), "offset %d", i)
	}
	got = consumeAll(t, ctx, c.addr, "fresh", 2)
	assert.Equal(t, []string{"fresh-after", "fresh-kgo"}, []string{string(got[0].Value), string(got[1].Value)},
		"the produce that failed under EMFILE appended nothing")

	assert.NotContains(t, c.logText(), "the broker failed")
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-c.exited:
		assert.Equal(t, 0, exitCode(t, c.err), "a clean stop")
	case <-time.After(time.Minute):
		t.Fatal("ordo did not stop after SIGTERM")
	}
}

// With the default max.connections (three quarters of the open-file
// limit), the same flood is refused before it takes the descriptors the
// logs need: a topic created during it opens and takes records.
func TestDefaultMaxConnectionsLeavesDescriptorsForLogs(t *testing.T) {
	c := startChild(t, 200)
	raw := wiretest.Dial(t, c.addr) // opened before the flood
	flood(t, c, 1000, "too many connections")

	meta := kmsg.NewPtrMetadataRequest()
	meta.SetVersion(12)
	meta.AllowAutoTopicCreation = true
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr("during-flood")
	meta.Topics = append(meta.Topics, mt)
	raw.RoundTrip(meta)
	code, msg := produceRaw(raw, "during-flood", "v")
	assert.Equal(t, int16(0), code, msg)
	assert.NotContains(t, c.logText(), "too many open files")
	c.requireRunning()
}
