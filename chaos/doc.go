// Package chaos will hold Ordo's fault-injection runs: workloads (LOG, LIN,
// IDEM, GROUP) driven by real clients against in-process clusters while
// failpoints and the in-memory filesystem crash, partition, pause and delay
// brokers, with every history handed to linearizability's checkers. It is
// empty until replication lands; today the single-broker crash tests live
// in broker/clienttest and broker/storage. See docs/status.md.
package chaos
