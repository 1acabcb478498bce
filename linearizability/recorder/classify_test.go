package recorder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	lin "github.com/ordo-broker/ordo/linearizability"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want lin.Outcome
	}{
		{nil, lin.OK},
		{kerr.MessageTooLarge, lin.Fail},
		{kerr.InvalidTopicException, lin.Fail},
		{kerr.InvalidRecord, lin.Fail},
		{fmt.Errorf("wrapped: %w", kerr.InvalidRequiredAcks), lin.Fail},
		{kgo.ErrMaxBuffered, lin.Fail},
		// The write may have happened.
		{kerr.RequestTimedOut, lin.Info},
		{kerr.NotLeaderForPartition, lin.Info},
		{kerr.NotEnoughReplicasAfterAppend, lin.Info},
		{kerr.NotEnoughReplicas, lin.Info},
		{kerr.OutOfOrderSequenceNumber, lin.Info},
		// Answers that depend on the cluster's state, which a fail-over or
		// a rebalance between a lost answer and kgo's retry changes.
		{kerr.UnknownTopicOrPartition, lin.Info},
		{kerr.InvalidProducerEpoch, lin.Info},
		{kerr.InvalidProducerIDMapping, lin.Info},
		{kerr.InvalidTxnState, lin.Info},
		{kerr.IllegalGeneration, lin.Info},
		{kerr.UnknownMemberID, lin.Info},
		{kerr.RebalanceInProgress, lin.Info},
		{kerr.FencedInstanceID, lin.Info},
		{kerr.UnknownServerError, lin.Info},
		{context.DeadlineExceeded, lin.Info},
		{context.Canceled, lin.Info},
		{kgo.ErrRecordTimeout, lin.Info},
		{kgo.ErrRecordRetries, lin.Info},
		{kgo.ErrClientClosed, lin.Info},
		{io.EOF, lin.Info},
		{&net.OpError{Op: "read", Err: errors.New("connection reset by peer")}, lin.Info},
		{errors.New("something new"), lin.Info},
	} {
		require.Equal(t, tc.want, Classify(tc.err), "%v", tc.err)
	}
}
