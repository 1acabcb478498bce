package main

import (
	"errors"
	"fmt"
	"os"
)

// checkDataDir makes sure the broker will be able to use dir before it starts:
// it creates the directory if needed and writes, syncs and removes a probe
// file in it. The error says what is wrong in words a user can act on.
func checkDataDir(dir string) error {
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return fmt.Errorf("data dir %q is not usable: it exists and is not a directory", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("data dir %q is not usable: cannot create it: %w", dir, unwrapPath(err))
	}
	f, err := os.CreateTemp(dir, ".ordo-probe-*")
	if err != nil {
		return fmt.Errorf("data dir %q is not usable: cannot create a file in it: %w", dir, unwrapPath(err))
	}
	name := f.Name()
	_, werr := f.Write([]byte("ordo probe\n"))
	if werr == nil {
		werr = f.Sync()
	}
	cerr := f.Close()
	rerr := os.Remove(name)
	switch {
	case werr != nil:
		return fmt.Errorf("data dir %q is not usable: cannot write and sync a file in it: %w", dir, unwrapPath(werr))
	case cerr != nil:
		return fmt.Errorf("data dir %q is not usable: cannot close a file in it: %w", dir, unwrapPath(cerr))
	case rerr != nil:
		return fmt.Errorf("data dir %q is not usable: cannot remove a file in it: %w", dir, unwrapPath(rerr))
	}
	return nil
}

// unwrapPath drops the *os.PathError wrapper, whose path the message already
// names, leaving e.g. "permission denied".
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
