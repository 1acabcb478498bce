package model

import (
	"fmt"
	"sort"
	"strings"
)

// String describes the whole state deterministically (sorted), one fact a
// line: golden tests print it, and a failing differential test shows it.
func (c *Cluster) String() string {
	var b strings.Builder
	names := make([]string, 0, len(c.topics))
	for name := range c.topics {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for i, p := range c.topics[name] {
			fmt.Fprintf(&b, "%s/%d: log-start=%d high-watermark=%d\n", name, i, p.logStart, p.highWatermark())
			ids := make([]int64, 0, len(p.producers))
			for id := range p.producers {
				ids = append(ids, id)
			}
			sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
			for _, id := range ids {
				e := p.producers[id]
				fmt.Fprintf(&b, "  producer %d epoch %d:", id, e.epoch)
				for _, bm := range e.batches {
					fmt.Fprintf(&b, " seq %d-%d@%d", bm.firstSeq, bm.lastSeq, bm.baseOffset)
				}
				b.WriteString("\n")
			}
		}
	}
	keys := make([]groupPartition, 0, len(c.committed))
	for k := range c.committed {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.group != b.group {
			return a.group < b.group
		}
		if a.topic != b.topic {
			return a.topic < b.topic
		}
		return a.partition < b.partition
	})
	for _, k := range keys {
		fmt.Fprintf(&b, "group %s %s/%d: committed=%d\n", k.group, k.topic, k.partition, c.committed[k])
	}
	return b.String()
}
