// Package chaos holds Ordo's fault-injection runs: the recorded workload of
// linearizability/workload (producers, consumers, linearizable readers, a
// final drain) against a live in-process broker while failpoints
// (broker/failpoints) are switched on, with every history handed to both
// checkers of package linearizability.
//
// Its tests need the build tag: go test -race -tags failpoints ./chaos/...
// (make test runs them). Two kinds of run:
//   - faults a correct broker survives (produce responses dropped after
//     the commit, stalled fsyncs, an fsync that fails with EIO: the broker
//     fail-stops and is restarted after a power loss): the checks must
//     pass;
//   - the planted bugs of issue 4 (acknowledge without appending, a stale
//     high watermark in ListOffsets or in Fetch, no idempotence check, one
//     offset handed to two batches): the check must fail with the anomaly
//     each causes, while the same workload without faults passes.
//
// Faults are switched off before the final drain, and every enabled point
// must have fired. Every run prints its seed (ORDO_SEED replays the
// client schedule; percentage terms are not replayed) and keeps its
// history under the temp directory when it fails. ORDO_CHAOS_DURATION sets
// the load phase (2 s; make chaos uses 10 s).
//
// Still to come with replication: crashing and restarting leaders and
// followers, partitions between brokers and the controller, paused
// (zombie) leaders; the single-broker crash tests live in broker/clienttest
// and broker/storage. See docs/status.md.
package chaos
