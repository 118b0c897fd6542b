package listen

import (
	"context"
	"time"

	"github.com/omega-listen/omega-listen/cli/endpoints"
)

// reportLeftovers tells the user, once, about endpoints crashed runs left.
func (l *listener) reportLeftovers(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	left, err := endpoints.Leftovers(ctx, l.client, l.endpoint.ID, endpoints.HTTPProbe)
	if err != nil || len(left) == 0 {
		return
	}
	l.notef("Note: %d webhook endpoint(s) left behind by earlier omega-listen runs still receive Omega's events. Remove them with `omega-listen endpoints prune`.", len(left))
}
