package fs

import (
	"errors"
	"io"
	"os"
)

// ReadFile reads the whole named file.
func ReadFile(fsys FS, name string) ([]byte, error) {
	f, err := fsys.OpenFile(name, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// IsNotExist reports whether err says a file or directory does not exist.
func IsNotExist(err error) bool { return errors.Is(err, os.ErrNotExist) }
