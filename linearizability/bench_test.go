package linearizability

import (
	"fmt"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// Benchmarks of the checks' cost, with the figures docs/testing.md quotes:
//
//	go test -run=NONE -bench='Unresolved|CheckHistory' -benchtime=3x ./linearizability/
//
// BenchmarkCheckHistory reports, besides the time of one whole Check, the
// peak of the Go heap while it ran (peak-heap-MB, live and unswept
// objects, the history itself included; history-MB is the history alone)
// and of the memory the runtime held from the system (peak-held-MB: all
// it mapped less what it released, close to the resident size; run one
// size per process for it to mean that size alone).

// BenchmarkUnresolved checks one partition where n indeterminate
// produces were in flight when a crash struck and no read resolved them
// and no drain ruled them out (unresolvedHistory), legal and with a stale
// last read (illegal: porcupine must rule out every order): the case
// whose search doubled with each one before they became a count in the
// model.
func BenchmarkUnresolved(b *testing.B) {
	for _, legal := range []bool{true, false} {
		want := map[bool]porcupine.CheckResult{true: porcupine.Ok, false: porcupine.Illegal}[legal]
		for _, n := range []int{16, 64, 256} {
			b.Run(fmt.Sprintf("%s/n=%d", want, n), func(b *testing.B) {
				h := unresolvedHistory(n, legal)
				b.ResetTimer()
				for range b.N {
					rep, res := CheckLog(h, Options{Timeout: time.Minute})
					if rep.Result != want || res.Unresolved != n {
						b.Fatalf("%s, %d unresolved", rep.Result, res.Unresolved)
					}
				}
			})
		}
	}
}

// BenchmarkUnresolvedReference checks the illegal histories with the
// reference model of lin_log_test.go, where every unresolved append is a
// porcupine operation that never returns: its time doubles with each one
// (the figures: 12 take 5 s, 16 time out), so it stops at 12.
func BenchmarkUnresolvedReference(b *testing.B) {
	for _, n := range []int{4, 8, 10, 12} {
		b.Run(fmt.Sprintf("Illegal/n=%d", n), func(b *testing.B) {
			h := unresolvedHistory(n, false)
			b.ResetTimer()
			for range b.N {
				if res := referenceLogCheck(h, time.Minute); res != porcupine.Illegal {
					b.Fatal(res)
				}
			}
		})
	}
}

// BenchmarkCheckHistory runs every check on synthetic histories of a
// correct cluster (package model's answers to 16 clients on 8
// partitions: produces with a few percent indeterminate, polls, latest and
// earliest offsets, linearizable fetches, commits and their reads,
// retention now and then, a complete final drain) of about 17k, 68k and
// 250k operations.
func BenchmarkCheckHistory(b *testing.B) {
	for _, n := range []int{17_000, 68_000, 250_000} {
		b.Run(fmt.Sprintf("ops=%d", n), func(b *testing.B) {
			runtime.GC()
			base := heapObjects()
			h := syntheticHistory(b, 1, n, 8, 16)
			runtime.GC()
			historyBytes := heapObjects() - base
			b.ResetTimer()
			var peak peakMemory
			for range b.N {
				runtime.GC()
				stop := peak.sample()
				rep := Check(h, Options{Timeout: 5 * time.Minute})
				stop()
				if !rep.OK() {
					b.Fatalf("verdict %s: static %v, log %s, offsets %s, invalid %v", rep.Verdict(), rep.Static.Counts, rep.Log.Result, rep.Offsets.Result, rep.Invalid)
				}
			}
			b.ReportMetric(float64(len(h)), "ops")
			b.ReportMetric(float64(historyBytes)/1e6, "history-MB")
			b.ReportMetric(float64(peak.heap)/1e6, "peak-heap-MB")
			b.ReportMetric(float64(peak.held)/1e6, "peak-held-MB")
		})
	}
}

// peakMemory samples the runtime's memory while a check runs.
type peakMemory struct {
	mu         sync.Mutex
	heap, held uint64
}

var memSamples = []metrics.Sample{
	{Name: "/memory/classes/heap/objects:bytes"},
	{Name: "/memory/classes/total:bytes"},
	{Name: "/memory/classes/heap/released:bytes"},
}

func heapObjects() uint64 {
	s := []metrics.Sample{memSamples[0]}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// sample reads the runtime's memory every 5 ms until stop is called.
func (p *peakMemory) sample() (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	read := func() {
		s := append([]metrics.Sample(nil), memSamples...)
		metrics.Read(s)
		p.mu.Lock()
		p.heap = max(p.heap, s[0].Value.Uint64())
		p.held = max(p.held, s[1].Value.Uint64()-s[2].Value.Uint64())
		p.mu.Unlock()
	}
	go func() {
		defer close(finished)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			read()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		read()
	}
}
