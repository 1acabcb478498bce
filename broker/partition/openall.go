package partition

import (
	"sync"
	"sync/atomic"

	"github.com/ordo-broker/ordo/broker/metadata"
	"github.com/ordo-broker/ordo/broker/topicconfig"
)

// openParallelism is how many partition logs the manager opens at once
// (at start-up, and for a new topic). Opening a log is mostly waiting for
// fsyncs (directory entries, checkpoints) and small reads; on a journaling
// filesystem concurrent fsyncs share journal commits, so a few at a time
// open a topic of thousands of partitions several times faster than one
// at a time, on any number of cores.
const openParallelism = 8

// openJob is one partition log to open.
type openJob struct {
	k   key
	im  *metadata.Image // the image the partition is opened for
	t   *metadata.Topic
	pr  metadata.PartitionRecord
	cfg topicconfig.Config
}

type openResult struct {
	openJob
	p   *Partition
	err error
}

// openAll opens the jobs' logs, openParallelism at a time, and returns the
// results in the jobs' order. open touches no state of the manager's, so
// the workers need no lock; the caller holds m.mu throughout.
func (m *Manager) openAll(jobs []openJob, clean bool) []openResult {
	res := make([]openResult, len(jobs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(openParallelism, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) {
					return
				}
				j := jobs[i]
				p, err := m.open(j.im, j.t, j.pr, j.cfg, clean)
				res[i] = openResult{openJob: j, p: p, err: err}
			}
		}()
	}
	wg.Wait()
	return res
}
