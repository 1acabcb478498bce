//go:build !(linux || darwin)

package broker

// openFileLimit reports no limit where Ordo does not read one.
func openFileLimit() (uint64, bool) { return 0, false }
