// Package topicconfig owns Ordo's topic-level configuration: the subset of
// Kafka's topic configs (Kafka's LogConfig) that Ordo supports, their types,
// defaults and valid ranges, and the three things the protocol does with
// them:
//
//   - validate a topic's overrides into an effective, typed Config (Build,
//     for CreateTopics, AlterConfigs and IncrementalAlterConfigs);
//   - apply IncrementalAlterConfigs operations to stored overrides
//     (ApplyIncremental, KIP-339);
//   - describe a topic's configs, or the broker's, for DescribeConfigs with
//     sources, config types (KIP-569) and synonyms (KIP-226) (Describe,
//     DescribeBroker).
//
// The package is pure: no I/O, no goroutines, no clock. The broker stores a
// topic's overrides (name to raw string, exactly as Kafka does in its
// metadata) and asks this package what they mean.
//
// Values follow Kafka 4.x (ConfigDef parsing: values are trimmed, booleans are
// case-insensitive, lists are comma-separated) and so do error messages, so
// that Kafka tooling shows users what they would see against Kafka. Where Ordo
// deliberately differs, the config's documentation (returned by Describe)
// says so:
//
//   - flush.messages defaults to 1, not Long.MAX: Ordo's promise is "fsync
//     before ack" unless a topic opts out (see Config.SyncEachAppend).
//   - compression.type accepts only "producer": Ordo stores batches as the
//     producer sent them and never recompresses.
//   - unclean.leader.election.enable accepts only false.
//
// Kafka topic configs that Ordo does not implement (preallocate, tiered
// storage, replication throttles, ...) are refused with INVALID_CONFIG rather
// than silently accepted, so that nobody believes a setting is in force when
// it is not.
package topicconfig
