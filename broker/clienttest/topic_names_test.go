package clienttest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
)

// TestTopicNamesThatCollide: names that differ only by '.' against '_'
// would share metric names, so Kafka refuses the second one with
// INVALID_TOPIC_EXCEPTION and says which topic it collides with;
// auto-creation refuses it too. Once the first topic is deleted, the name
// is free.
func TestTopicNamesThatCollide(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 60*time.Second)
	b := startGroupBroker(t)
	adm := newAdmin(t, b)
	createTopic(t, ctx, adm, "col.lide", 1, nil)

	resp, err := adm.CreateTopic(ctx, 1, 1, nil, "col_lide")
	require.ErrorIs(t, err, kerr.InvalidTopicException)
	require.Contains(t, resp.ErrMessage, "Topic 'col_lide' collides with existing topic: col.lide")
	_, err = adm.CreateTopic(ctx, 1, 1, nil, "col.lide")
	require.ErrorIs(t, err, kerr.TopicAlreadyExists, "the same name is no collision: it exists")

	got := autoCreateMetadata(t, newClient(t, b), "col_lide")
	require.Equal(t, kerr.InvalidTopicException.Code, got["col_lide"].ErrorCode)
	// A client topic can never take the name the group coordinator needs.
	_, err = adm.CreateTopic(ctx, 1, 1, nil, "__consumer.offsets")
	require.ErrorIs(t, err, kerr.InvalidTopicException)

	listed, err := adm.ListTopics(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"col.lide"}, listed.Names())

	_, err = adm.DeleteTopic(ctx, "col.lide")
	require.NoError(t, err)
	createTopic(t, ctx, adm, "col_lide", 1, nil)
}
