package clienttest

import (
	"bytes"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordo-broker/ordo/broker"
	"github.com/ordo-broker/ordo/broker/clock"
	"github.com/ordo-broker/ordo/broker/ordotest"
	"github.com/ordo-broker/ordo/broker/wire/wiretest"
)

func brokerConfigs(t *testing.T, adm *kadm.Client) map[string]string {
	t.Helper()
	rcs, err := adm.DescribeBrokerConfigs(testContext(t, 30*time.Second))
	require.NoError(t, err)
	require.Len(t, rcs, 1)
	require.NoError(t, rcs[0].Err)
	out := map[string]string{}
	for _, c := range rcs[0].Configs {
		if c.Value != nil {
			out[c.Key] = *c.Value
		}
	}
	return out
}

// DescribeConfigs on the BROKER resource reports the connection limits the
// broker runs with, in Kafka's names and units.
func TestBrokerConfigsReportConnectionLimits(t *testing.T) {
	b := ordotest.Start(t, ordotest.WithConfig(func(c *broker.Config) {
		c.MaxConnections = 50
		c.ConnectionsMaxIdle = 2 * time.Minute
		c.QueuedMaxRequestBytes = 64 << 20
	}))
	got := brokerConfigs(t, newAdmin(t, b))
	assert.Equal(t, "50", got["max.connections"])
	assert.Equal(t, "120000", got["connections.max.idle.ms"])
	assert.Equal(t, "67108864", got["queued.max.request.bytes"])
	assert.Equal(t, "104857600", got["socket.request.max.bytes"])

	// Defaults: Kafka's idle timeout, 500 MiB, and max.connections from
	// the open-file limit (a number, never "no limit" where it is read).
	b = ordotest.Start(t)
	got = brokerConfigs(t, newAdmin(t, b))
	assert.Equal(t, "600000", got["connections.max.idle.ms"])
	assert.Equal(t, "524288000", got["queued.max.request.bytes"])
	n, err := strconv.Atoi(got["max.connections"])
	require.NoError(t, err)
	assert.Positive(t, n)
	t.Logf("max.connections derived from this process's open-file limit: %d", n)
}

// connections.max.idle.ms runs on the broker's clock: an idle connection
// is closed once the clock has moved past it, and a client just
// reconnects.
func TestBrokerClosesIdleConnections(t *testing.T) {
	clk := clock.NewFake(time.Now())
	b := ordotest.Start(t, ordotest.WithConfig(func(c *broker.Config) {
		c.Clock = clk
		c.ConnectionsMaxIdle = time.Minute
	}))
	raw := wiretest.Dial(t, b.Addr())
	req := kmsg.NewPtrApiVersionsRequest()
	req.SetVersion(3)
	req.ClientSoftwareName, req.ClientSoftwareVersion = "idle-test", "1"
	raw.RoundTrip(req)
	clk.Advance(time.Minute)
	raw.RequireClosed()

	cl := newClient(t, b, kgo.DefaultProduceTopic("after-idle"), kgo.AllowAutoTopicCreation())
	ctx := testContext(t, 60*time.Second)
	require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Value: []byte("1")}).FirstErr())
	clk.Advance(time.Hour) // the client's connections are closed as idle
	require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Value: []byte("2")}).FirstErr(), "the client reconnects")
}

// Request memory is taken as bytes arrive and bounded, and a large produce
// still goes through: a 10 MiB record with max.message.bytes raised, read
// back whole.
func TestLargeProduce(t *testing.T) {
	b := ordotest.Start(t)
	ctx := testContext(t, 120*time.Second)
	const size = 10 << 20
	maxBytes := strconv.Itoa(size + 1<<20)
	createTopic(t, ctx, newAdmin(t, b), "large", 1, map[string]*string{"max.message.bytes": &maxBytes})

	value := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	cl := newClient(t, b, kgo.DefaultProduceTopic("large"),
		kgo.ProducerBatchMaxBytes(size+1<<20), kgo.ProducerBatchCompression(kgo.NoCompression()))
	require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Value: value}).FirstErr())

	consumer := newClient(t, b, kgo.ConsumeTopics("large"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxBytes(size+2<<20), kgo.FetchMaxPartitionBytes(size+2<<20))
	var got []*kgo.Record
	for len(got) == 0 {
		fs := consumer.PollFetches(ctx)
		require.NoError(t, ctx.Err())
		fs.EachError(func(_ string, _ int32, err error) { require.NoError(t, err) })
		got = append(got, fs.Records()...)
	}
	require.Len(t, got, 1)
	assert.True(t, bytes.Equal(value, got[0].Value), "the 10 MiB value comes back whole")
}
