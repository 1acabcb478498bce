package storage

import (
	"fmt"
	"strconv"
	"strings"
)

// epochEntry says that leader epoch epoch's first record has offset start.
type epochEntry struct {
	epoch int32
	start int64
}

// epochCache is the leader epoch cache of KIP-101/KIP-279: the start offset
// of every leader epoch in the log, epochs and offsets strictly increasing.
// Followers ask a leader for an epoch's end offset (OffsetsForLeaderEpoch)
// to find where their logs diverge, instead of truncating to the high
// watermark. It is pure data; Log persists it.
type epochCache struct {
	entries []epochEntry
}

// latest returns the latest epoch, -1 if none.
func (c *epochCache) latest() int32 {
	if len(c.entries) == 0 {
		return -1
	}
	return c.entries[len(c.entries)-1].epoch
}

// assign records that epoch starts at start, as Kafka's assign does: a
// repeat of the latest epoch changes nothing, and entries that would break
// monotonicity (an epoch >= epoch, or a start >= start) are dropped first.
// It reports whether the cache changed. A change makes a new array and
// leaves the old one as it was, so a caller can put it back
// (Log.writeEpochsOr).
func (c *epochCache) assign(epoch int32, start int64) bool {
	if epoch < 0 {
		return false
	}
	if n := len(c.entries); n > 0 && c.entries[n-1].epoch == epoch && c.entries[n-1].start <= start {
		return false
	}
	kept := make([]epochEntry, 0, len(c.entries)+1)
	for _, e := range c.entries {
		if e.epoch < epoch && e.start < start {
			kept = append(kept, e)
		}
	}
	c.entries = append(kept, epochEntry{epoch: epoch, start: start})
	return true
}

// truncateFromEnd drops the epochs that start at or after end (the log was
// truncated to end).
func (c *epochCache) truncateFromEnd(end int64) bool {
	return c.dropWhere(func(e epochEntry) bool { return e.start >= end })
}

func (c *epochCache) dropWhere(drop func(epochEntry) bool) bool {
	kept := c.entries[:0]
	for _, e := range c.entries {
		if !drop(e) {
			kept = append(kept, e)
		}
	}
	changed := len(kept) != len(c.entries)
	c.entries = kept
	return changed
}

// truncateFromStart forgets epochs wholly below the new log start offset,
// as Kafka does after DeleteRecords: the latest epoch that starts at or
// before start is kept, moved to start.
func (c *epochCache) truncateFromStart(start int64) bool {
	i := 0
	for i < len(c.entries) && c.entries[i].start <= start {
		i++
	}
	if i == 0 || (i == 1 && c.entries[0].start == start) {
		return false
	}
	last := c.entries[i-1]
	last.start = start
	c.entries = append([]epochEntry{last}, c.entries[i:]...)
	return true
}

// endOffsetFor answers OffsetsForLeaderEpoch exactly as Kafka's
// LeaderEpochFileCache.endOffsetFor does:
//   - the latest epoch ends at the log end offset;
//   - another known epoch (or one between two known epochs) ends where the
//     next larger epoch starts, and the answer names the largest known epoch
//     <= the requested one;
//   - an epoch below every known epoch gets the requested epoch back with
//     the start offset of the earliest known epoch: its records were
//     deleted, and the follower must replicate from where the leader's log
//     starts (Kafka's comment: "data has already been removed from the log");
//   - an epoch above the latest, an empty cache or epoch -1: (-1, -1).
func (c *epochCache) endOffsetFor(epoch int32, logEnd int64) (int32, int64) {
	if epoch < 0 || len(c.entries) == 0 {
		return -1, -1
	}
	if epoch == c.latest() {
		return epoch, logEnd
	}
	// The first entry with a larger epoch.
	i := 0
	for i < len(c.entries) && c.entries[i].epoch <= epoch {
		i++
	}
	if i == len(c.entries) {
		return -1, -1
	}
	if i == 0 {
		return epoch, c.entries[0].start
	}
	return c.entries[i-1].epoch, c.entries[i].start
}

// encode writes Kafka's leader-epoch-checkpoint text: a version line (0), a
// count line, then "epoch startOffset" lines.
func (c *epochCache) encode() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "0\n%d\n", len(c.entries))
	for _, e := range c.entries {
		fmt.Fprintf(&b, "%d %d\n", e.epoch, e.start)
	}
	return []byte(b.String())
}

// decodeEpochCheckpoint parses the checkpoint's lines and checks them.
func decodeEpochCheckpoint(lines []string) ([]epochEntry, error) {
	bad := func(why string) error {
		return fmt.Errorf("%w: %s: %s", ErrCorruptLog, leaderEpochCheckpointFile, why)
	}
	if len(lines) < 2 || lines[0] != "0" {
		return nil, bad("bad version line")
	}
	n, err := strconv.Atoi(lines[1])
	if err != nil || n < 0 || n != len(lines)-2 {
		return nil, bad("bad count line")
	}
	entries := make([]epochEntry, 0, n)
	for _, line := range lines[2:] {
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, bad(fmt.Sprintf("bad line %q", line))
		}
		epoch, err1 := strconv.ParseInt(f[0], 10, 32)
		start, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil || epoch < 0 || start < 0 {
			return nil, bad(fmt.Sprintf("bad line %q", line))
		}
		e := epochEntry{epoch: int32(epoch), start: start}
		if k := len(entries); k > 0 && (e.epoch <= entries[k-1].epoch || e.start < entries[k-1].start) {
			return nil, bad("entries not increasing")
		}
		entries = append(entries, e)
	}
	return entries, nil
}
