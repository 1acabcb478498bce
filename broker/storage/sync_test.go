package storage

import (
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// waitForWaiters blocks until n callers wait in g.
func waitForWaiters(g *groupCommit, n int) {
	for {
		g.mu.Lock()
		w := g.waiters
		g.mu.Unlock()
		if w >= n {
			return
		}
	}
}

func TestGroupCommitSharesRounds(t *testing.T) {
	var g groupCommit
	var mu sync.Mutex
	var rounds []string
	var n int
	gate := make(chan struct{})
	started := make(chan int, 10)
	boom := errors.New("boom")
	fail := map[int]bool{2: true}
	round := func() error {
		mu.Lock()
		n++
		me := n
		rounds = append(rounds, "start")
		mu.Unlock()
		started <- me
		<-gate
		mu.Lock()
		rounds = append(rounds, "end")
		mu.Unlock()
		if fail[me] {
			return boom
		}
		return nil
	}

	errA := make(chan error, 1)
	go func() { errA <- g.do(round) }()
	require.Equal(t, 1, <-started)

	// B and C arrive while round 1 runs: round 1 may have missed their
	// writes, so they need round 2, which they share.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = g.do(round) }()
	}
	waitForWaiters(&g, 2)
	gate <- struct{}{} // round 1 ends
	require.NoError(t, <-errA)
	require.Equal(t, 2, <-started)
	gate <- struct{}{} // round 2 ends, failing
	wg.Wait()
	assert.ErrorIs(t, errs[0], boom)
	assert.ErrorIs(t, errs[1], boom)
	assert.Equal(t, []string{"start", "end", "start", "end"}, rounds, "two rounds for three callers")

	// A later caller runs its own round and succeeds.
	close(gate)
	assert.NoError(t, g.do(round))
	assert.Len(t, rounds, 6)
}
