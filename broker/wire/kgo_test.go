package wire_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordo-broker/ordo/broker/wire"
	"github.com/ordo-broker/ordo/broker/wire/wiretest"
)

// A real client talks to the framing. The handler supports ApiVersions up
// to v3 only, below what kgo sends first, so the connection also goes
// through the KIP-511 downgrade: wire answers kgo's first ApiVersions with a
// v0 UNSUPPORTED_VERSION body, kgo retries at v3 on the same connection.
func TestKgoClient(t *testing.T) {
	ranges := map[int16][2]int16{18: {0, 3}, 3: {0, 12}}
	f := &fake{ranges: ranges}
	_, addr := start(t, wire.Config{}, f)

	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), wiretest.Timeout)
	defer cancel()

	resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl)
	require.NoError(t, err)
	assert.EqualValues(t, 0, resp.ErrorCode)
	assert.Equal(t, []kmsg.ApiVersionsResponseApiKey{
		{ApiKey: 3, MinVersion: 0, MaxVersion: 12},
		{ApiKey: 18, MinVersion: 0, MaxVersion: 3},
	}, resp.ApiKeys)

	seen := f.requests()
	require.NotEmpty(t, seen)
	for _, s := range seen {
		assert.EqualValues(t, 18, s.key)
		assert.EqualValues(t, 3, s.version, "kgo retried with the version wire advertised")
		require.NotNil(t, s.clientID)
		assert.Equal(t, "kgo", *s.clientID)
	}

	// And a flexible request with a v2 header and a v1 response header.
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = append(req.Topics, kmsg.MetadataRequestTopic{Topic: kmsg.StringPtr("orders")})
	meta, err := req.RequestWith(ctx, cl)
	require.NoError(t, err)
	assert.EqualValues(t, 12, meta.Version)
	assert.Equal(t, "kgo", *meta.ClusterID)
	assert.Equal(t, "orders", *meta.Topics[0].Topic)
}
