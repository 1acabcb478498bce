// Package kmsgguard checks, in time linear in its length, whether kmsg can
// decode a request body, so that wire never hands kmsg a body it would spend
// minutes failing on.
//
// Why: kmsg (v1.15.0) reads a tagged-field section (KIP-482) with
//
//	for num := b.Uvarint(); num > 0; num-- { ... }
//
// and keeps looping after the reader is exhausted. A client that puts a
// count near 2^32 where a tag section goes, with few bytes after it, makes
// ReadFrom run ~4 billion empty iterations: a 20-byte Metadata v12 request
// costs about a minute of CPU, and Server.Close would wait for it.
// FuzzRequest found it.
//
// The fix belongs in kmsg (bound the loop with b.Ok()). Until then, this
// package holds a generated copy of kmsg's request decoders (the request
// types, readFrom, and what they reach, plus kmsg's internal kbin reader)
// in which exactly that change is made: every tag loop also stops once the
// reader has failed. The reader's failure is sticky and the loops are the
// only change, so a body passes Check if and only if kmsg decodes it
// without error; and kmsg only spins on bodies it fails on. Check then
// kmsg is therefore as fast as a successful decode, and exact.
//
// The copy has one more change, for memory: kmsg checks an array count only
// against the bytes left, not against the size of its elements, so a
// malformed body can make it allocate tens of times the frame's size before
// it fails (a 100 MiB frame, several GiB). The copy decodes every array into
// one reused element; which bytes a decode reads never depends on what
// earlier elements decoded to, so the verdict is the same, and Check
// allocates almost nothing. kmsg then only decodes well-formed bodies, whose
// arrays are backed by real bytes.
//
// The copy must match the kmsg in the build: TestKmsgVersion fails when they
// differ; regenerate with go generate.
package kmsgguard

//go:generate go run ./gen

import "errors"

var errUnknownKey = errors.New("kmsgguard: unknown request key")

// Check returns nil if and only if kmsg decodes body as a request of key at
// version without error. It takes time linear in len(body) and never panics
// on input kmsg does not panic on.
func Check(key, version int16, body []byte) error {
	return check(key, version, body)
}
