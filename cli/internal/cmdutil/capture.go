package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/omega-listen/omega-listen/capture"
)

// GetCapture reads the capture id names: a capture or event ID or a
// prefix of either. What it picked, when id was not a whole capture ID, is
// said on errw.
func GetCapture(ctx context.Context, st *capture.Store, id string, errw io.Writer) (*capture.Capture, error) {
	c, note, err := st.Resolve(ctx, id)
	if err == nil && note != "" {
		fmt.Fprintf(errw, "(%s)\n", Clean(note))
	}
	switch {
	case errors.Is(err, capture.ErrNotFound), errors.Is(err, capture.ErrAmbiguous):
		return nil, err // it names the ID (quoted) and what to do
	case err != nil:
		return nil, fmt.Errorf("reading capture %s: %w", Clean(id), err)
	}
	return c, nil
}
