package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"

	"github.com/omega-listen/omega-listen/omega"
)

// newClient builds the Omega API client from the global flags.
func newClient(s Streams, g *globalOptions) (*omega.Client, error) {
	if g.APIKey == "" {
		return nil, errors.New("no Omega API key: set OMEGA_API_KEY or pass --api-key (or try `omega-listen --emulate` to run without an account)")
	}
	c, err := omega.NewClient(omega.Options{
		BaseURL:   g.BaseURL,
		APIKey:    g.APIKey,
		UserAgent: userAgent(),
		Logger:    newLogger(s, g),
	})
	if err != nil {
		return nil, usagef("--base-url: %w", err)
	}
	return c, nil
}

// commandClient is newClient for the commands beside a listener
// (endpoints, events, replay --from-omega): with no API key given, a
// running `omega-listen --emulate` on the data dir lends its emulator, so
// those commands work against it as they would against Omega.
func commandClient(s Streams, g *globalOptions) (*omega.Client, error) {
	if g.APIKey == "" && g.BaseURL == defaultBaseURL {
		if dir, err := dataDir(s, g); err == nil {
			if si, err := findSession(dir); err == nil && si.Emulator != nil {
				fmt.Fprintf(s.Err, "Using the emulator of the omega-listen --emulate running on %s.\n", dir)
				c, err := omega.NewClient(omega.Options{BaseURL: si.Emulator.BaseURL, APIKey: si.Emulator.APIKey, UserAgent: userAgent(), Logger: newLogger(s, g)})
				if err != nil {
					return nil, fmt.Errorf("the running emulator's session: %w", err)
				}
				return c, nil
			}
		}
	}
	return newClient(s, g)
}

func newLogger(s Streams, g *globalOptions) *slog.Logger {
	if !g.Debug {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(s.Err, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// dataDir resolves --data-dir: the flag or env, else the per-user state dir.
func dataDir(s Streams, g *globalOptions) (string, error) {
	if g.DataDir != "" {
		return filepath.Abs(g.DataDir)
	}
	if d := s.getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "omega-listen"), nil
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "windows" {
		d, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("finding a data dir: %w; pass --data-dir", err)
		}
		return filepath.Join(d, "omega-listen"), nil
	}
	home := s.getenv("HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("finding a data dir: %w; pass --data-dir or set OMEGA_LISTEN_HOME", err)
		}
		home = h
	}
	return filepath.Join(home, ".local", "state", "omega-listen"), nil
}

// editorSetting is the editor for `replay --edit` and the screen's `e`:
// $VISUAL, else $EDITOR, else vi. It may carry arguments ("code --wait").
func editorSetting(s Streams) string {
	for _, k := range []string{"VISUAL", "EDITOR"} {
		if e := s.getenv(k); e != "" {
			return e
		}
	}
	return "vi"
}
