package cli

import (
	"fmt"

	"github.com/omega-listen/omega-listen/capture"
)

// openStore opens the capture store for a command other than listen
// (captures, replay, wait). It never prunes: retention is the listener's
// (--retain), so a command run beside a listener with a larger --retain
// does not cut that listener's store down to the default.
func openStore(s Streams, g *globalOptions) (*capture.Store, error) {
	dir, err := dataDir(s, g)
	if err != nil {
		return nil, err
	}
	st, err := capture.Open(dir, capture.Options{Retain: -1, Logger: newLogger(s, g)})
	if err != nil {
		return nil, fmt.Errorf("opening the capture store in %s: %w", dir, err)
	}
	return st, nil
}
