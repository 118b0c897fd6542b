package journal

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrGone: a segment file a reader looked for is not there under either
// name (the store deleted it: no capture in it is left).
var ErrGone = errors.New("capture file is gone")

// Files reads from segment files by segment name, whichever of its two
// names the file has, opening each file once. Set Dir; Close closes what
// it opened.
type Files struct {
	Dir   string
	files map[string]*os.File
}

func (fs *Files) open(name string) (*os.File, error) {
	if f, ok := fs.files[name]; ok {
		return f, nil
	}
	// A segment changes name once, atomically, from its journal name to its
	// bodies name, so looking in that order cannot miss a file that exists.
	for _, path := range []string{Path(fs.Dir, name), BodiesPath(fs.Dir, name)} {
		f, err := os.Open(path)
		if err == nil {
			if fs.files == nil {
				fs.files = make(map[string]*os.File)
			}
			fs.files[name] = f
			return f, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%w: %s", ErrGone, BodiesPath(fs.Dir, name))
}

// Read returns the n bytes at off in segment name, and the path of the file
// they came from. n must be positive and at most MaxLen.
func (fs *Files) Read(name string, off, n int64) (b []byte, path string, err error) {
	if n <= 0 || n > MaxLen || off < 0 {
		return nil, "", fmt.Errorf("impossible location %d+%d in %s", off, n, BodiesPath(fs.Dir, name))
	}
	f, err := fs.open(name)
	if err != nil {
		return nil, "", err
	}
	b = make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, "", fmt.Errorf("read %s: %w", f.Name(), err)
	}
	return b, f.Name(), nil
}

// Close closes every file Read opened.
func (fs *Files) Close() {
	for _, f := range fs.files {
		f.Close()
	}
}
