package listen

import (
	"context"
	"fmt"

	"github.com/omega-listen/omega-listen/cli/trigger"

	"github.com/omega-listen/omega-listen/cli/internal/session"
)

// screenTrigger is the screen's `t` with --emulate: the emulator delivers
// a sample to this listener's endpoint. Nil on real Omega.
func (l *listener) screenTrigger() func(context.Context, string) (string, error) {
	if l.emu == nil {
		return nil
	}
	return func(ctx context.Context, typ string) (string, error) {
		if err := trigger.CheckSubscribed(&session.Info{Events: l.cfg.events, Forward: l.cfg.target.String()}, []string{typ}); err != nil {
			return "", err
		}
		res, err := trigger.Emulator(ctx, l.emu.BaseURL, l.emu.APIKey(), l.endpoint.ID, []string{typ}, 1)
		if err != nil {
			return "", err
		}
		if len(res) == 0 {
			return "", fmt.Errorf("no endpoint is subscribed to %s", typ)
		}
		return trigger.Text(res[0]), nil
	}
}
