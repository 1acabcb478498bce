package handler_test

import (
	"encoding/binary"
	"hash/crc32"
	"testing"
	"time"

	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/ordo-broker/ordo/broker/ordotest"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// idempotentBatch is a v2 batch of n records from producer pid, stamped
// now (producer state expires by batch timestamps).
func idempotentBatch(pid int64, epoch int16, seq int32, n int) []byte {
	ts := time.Now().UnixMilli()
	rb := kmsg.RecordBatch{
		Magic:           2,
		LastOffsetDelta: int32(n - 1),
		FirstTimestamp:  ts,
		MaxTimestamp:    ts,
		ProducerID:      pid,
		ProducerEpoch:   epoch,
		FirstSequence:   seq,
		NumRecords:      int32(n),
	}
	for i := 0; i < n; i++ {
		r := kmsg.Record{OffsetDelta: int32(i), Value: []byte("value")}
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		rb.Records = r.AppendTo(rb.Records)
	}
	rb.Length = int32(len(rb.AppendTo(nil)) - 12)
	raw := rb.AppendTo(nil)
	rb.CRC = int32(crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return rb.AppendTo(nil)
}

// initProducerID sends InitProducerId (at the highest version both sides
// know, 4) with the given current id and epoch.
func initProducerID(t *testing.T, cl *kgo.Client, id int64, epoch int16, txnID *string) *kmsg.InitProducerIDResponse {
	t.Helper()
	req := kmsg.NewPtrInitProducerIDRequest()
	req.ProducerID, req.ProducerEpoch, req.TransactionalID = id, epoch, txnID
	resp, err := req.RequestWith(ctx(t), cl)
	require.NoError(t, err)
	return resp
}

func newProducerID(t *testing.T, cl *kgo.Client) (int64, int16) {
	t.Helper()
	resp := initProducerID(t, cl, -1, -1, nil)
	require.NoError(t, kerr.ErrorForCode(resp.ErrorCode))
	return resp.ProducerID, resp.ProducerEpoch
}

func TestInitProducerID(t *testing.T) {
	b := ordotest.Start(t)
	cl := client(t, b)

	id, epoch := newProducerID(t, cl)
	require.Zero(t, epoch)
	other, _ := newProducerID(t, cl)
	require.NotEqual(t, id, other)

	// KIP-360: the current id and epoch bump the epoch; a retry of that
	// bump gets the same answer; any other epoch is fenced.
	resp := initProducerID(t, cl, id, 0, nil)
	require.Zero(t, resp.ErrorCode)
	require.Equal(t, id, resp.ProducerID)
	require.Equal(t, int16(1), resp.ProducerEpoch)
	resp = initProducerID(t, cl, id, 0, nil)
	require.Zero(t, resp.ErrorCode)
	require.Equal(t, int16(1), resp.ProducerEpoch, "a retried bump")
	resp = initProducerID(t, cl, id, 7, nil)
	require.Equal(t, kerr.InvalidProducerEpoch.Code, resp.ErrorCode)

	// An id the broker never handed out gets a fresh one.
	resp = initProducerID(t, cl, 1<<40, 3, nil)
	require.Zero(t, resp.ErrorCode)
	require.NotEqual(t, int64(1<<40), resp.ProducerID)
	require.Zero(t, resp.ProducerEpoch)

	require.Equal(t, kerr.InvalidRequest.Code, initProducerID(t, cl, id, -1, nil).ErrorCode, "id without epoch")
	require.Equal(t, kerr.InvalidRequest.Code, initProducerID(t, cl, -1, 0, nil).ErrorCode, "epoch without id")
	// kgo sends a transactional InitProducerId to the transaction
	// coordinator, which Ordo does not advertise; send it to the broker.
	req := kmsg.NewPtrInitProducerIDRequest()
	req.TransactionalID, req.ProducerID, req.ProducerEpoch = kmsg.StringPtr("txn"), -1, -1
	kresp, err := cl.Broker(int(b.NodeID())).Request(ctx(t), req)
	require.NoError(t, err)
	txn := kresp.(*kmsg.InitProducerIDResponse)
	require.Equal(t, kerr.InvalidRequest.Code, txn.ErrorCode, "no transactions")
	require.Equal(t, int64(-1), txn.ProducerID)
}

// TestIdempotentProduce checks the answers to hand-built retries, gaps,
// unknown producers and stale epochs.
func TestIdempotentProduce(t *testing.T) {
	b := ordotest.Start(t)
	cl := client(t, b)
	createTopic(t, cl, "t", 1, nil)
	pid, epoch := newProducerID(t, cl)

	first := produce(t, cl, "t", 0, idempotentBatch(pid, epoch, 0, 3))
	require.Zero(t, first.ErrorCode)
	require.Equal(t, int64(0), first.BaseOffset)
	require.Zero(t, produce(t, cl, "t", 0, batch(2, time.Now().UnixMilli())).ErrorCode, "a non-idempotent write in between")

	retry := produce(t, cl, "t", 0, idempotentBatch(pid, epoch, 0, 3))
	require.Zero(t, retry.ErrorCode, "a duplicate succeeds")
	require.Equal(t, int64(0), retry.BaseOffset, "with the original offset")

	next := produce(t, cl, "t", 0, idempotentBatch(pid, epoch, 3, 2))
	require.Zero(t, next.ErrorCode)
	require.Equal(t, int64(5), next.BaseOffset)

	gap := produce(t, cl, "t", 0, idempotentBatch(pid, epoch, 9, 1))
	require.Equal(t, kerr.OutOfOrderSequenceNumber.Code, gap.ErrorCode)
	require.Equal(t, int64(-1), gap.BaseOffset)

	unknown, _ := newProducerID(t, cl)
	require.Equal(t, kerr.UnknownProducerID.Code, produce(t, cl, "t", 0, idempotentBatch(unknown, 0, 5, 1)).ErrorCode)

	// An epoch bump (KIP-360) restarts the sequence at 0 and fences the
	// old epoch's batches.
	bumped := initProducerID(t, cl, pid, epoch, nil)
	require.Zero(t, bumped.ErrorCode)
	require.Equal(t, kerr.OutOfOrderSequenceNumber.Code, produce(t, cl, "t", 0, idempotentBatch(pid, bumped.ProducerEpoch, 5, 1)).ErrorCode,
		"a new epoch starts at sequence 0")
	require.Zero(t, produce(t, cl, "t", 0, idempotentBatch(pid, bumped.ProducerEpoch, 0, 1)).ErrorCode)
	require.Equal(t, kerr.InvalidProducerEpoch.Code, produce(t, cl, "t", 0, idempotentBatch(pid, epoch, 5, 1)).ErrorCode)

	// Ordo has no transactions: a transactional batch has no transaction
	// to belong to.
	transactional := idempotentBatch(pid, bumped.ProducerEpoch, 1, 1)
	transactional[22] |= 0x10 // attributes bit 4
	binary.BigEndian.PutUint32(transactional[17:], crc32.Checksum(transactional[21:], crc32.MakeTable(crc32.Castagnoli)))
	require.Equal(t, kerr.InvalidTxnState.Code, produce(t, cl, "t", 0, transactional).ErrorCode)

	require.Equal(t, int64(8), listOffset(t, cl, "t", 0, -1, -1).Offset, "only the accepted batches were appended")
}

// TestProducerStateSurvivesRestartAndCrash: after a clean restart and after
// power loss, a retry of an acknowledged batch is still answered as a
// duplicate with its original offset, and producer ids never repeat.
func TestProducerStateSurvivesRestartAndCrash(t *testing.T) {
	b := ordotest.Start(t, ordotest.WithMemFS(fs.NewMem()))
	cl := client(t, b)
	createTopic(t, cl, "t", 1, nil)
	seen := map[int64]bool{}
	newID := func() int64 {
		id, _ := newProducerID(t, cl)
		require.False(t, seen[id], "producer id %d handed out twice", id)
		seen[id] = true
		return id
	}
	pid := newID()
	newID()
	require.Zero(t, produce(t, cl, "t", 0, idempotentBatch(pid, 0, 0, 3)).ErrorCode)
	require.Zero(t, produce(t, cl, "t", 0, idempotentBatch(pid, 0, 3, 2)).ErrorCode)

	b.Restart()
	retry := produce(t, cl, "t", 0, idempotentBatch(pid, 0, 3, 2))
	require.Zero(t, retry.ErrorCode)
	require.Equal(t, int64(3), retry.BaseOffset, "a duplicate after a restart")
	newID()
	// The epochs the manager remembered are gone with the restart: the
	// old id gets a new one rather than a bump.
	resp := initProducerID(t, cl, pid, 0, nil)
	require.Zero(t, resp.ErrorCode)
	require.NotEqual(t, pid, resp.ProducerID)
	seen[resp.ProducerID] = true

	b.Crash(fs.CrashOptions{})
	retry = produce(t, cl, "t", 0, idempotentBatch(pid, 0, 0, 3))
	require.Zero(t, retry.ErrorCode)
	require.Equal(t, int64(0), retry.BaseOffset, "a duplicate after a crash")
	require.Equal(t, kerr.OutOfOrderSequenceNumber.Code, produce(t, cl, "t", 0, idempotentBatch(pid, 0, 6, 1)).ErrorCode)
	next := produce(t, cl, "t", 0, idempotentBatch(pid, 0, 5, 1))
	require.Zero(t, next.ErrorCode)
	require.Equal(t, int64(5), next.BaseOffset)
	for range 3 {
		newID()
	}
	require.Equal(t, int64(6), listOffset(t, cl, "t", 0, -1, -1).Offset)
}
