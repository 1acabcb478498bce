package recordbatchtest

import "runtime"

// Allocated runs f and returns how many bytes it allocated on the heap,
// after a garbage collection: a measure of memory that does not depend on
// timing.
func Allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// AllocBound is a bound on Allocated for code that allocates at most n
// bytes in a normal build. The race detector's sync.Pool drops pooled
// objects at random, so decoders and their block buffers (lz4's are 4 MiB
// per frame) are allocated again where a normal build reuses them: under
// it the bound is 8 times looser, still far below what an unbounded
// decompression of the tests' bombs (1 GiB) allocates.
func AllocBound(n uint64) uint64 {
	if raceEnabled {
		return 8 * n
	}
	return n
}

// HeapAfterGC is the heap in use after a garbage collection: what is
// still held.
func HeapAfterGC() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
