// Package linearizability owns Ordo's client histories and their judgement:
// the history format (JSON lines, one operation a line, as clients saw it),
// a static checker that owns content (the anomaly names of Jepsen's Kafka
// workload: lost writes, duplicates, skipped or reordered polls, ..., and
// Ordo's own: values nobody sent, reads past the high watermark), and
// porcupine checks that own real-time order (one log model per topic
// partition, one committed-offset register per group partition). A check
// ends in a verdict: PASS, FAIL, or INVALID for a history that cannot
// prove a run (empty, or without a complete final drain).
//
// It never imports the broker: it judges what any Kafka-protocol cluster did
// from the outside. Recording lives in the recorder subpackage (around a kgo
// client); workloads that drive a cluster and record live in workload.
//
// What Kafka promises is stated once, in package model; porcupine's models
// are abstractions of it, and the tests hold them and the static checks
// to it (spec_test.go).
//
// The names of anomalies and the rules for porcupine (resolving indeterminate
// produces against the final drain, a timeout per check that fails the run,
// an HTML visualization on failure) follow Ordo's verification brief.
package linearizability
