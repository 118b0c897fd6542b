package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/cli/internal/session"
	"github.com/omega-listen/omega-listen/omega"
	"github.com/omega-listen/omega-listen/tunnel"
)

// DefaultBaseURL is Omega's API, the default of --base-url.
const DefaultBaseURL = "https://api.omegastream.net/company"

// GlobalOptions are the root's persistent flags, which every command that
// talks to Omega or the store shares. They are filled when cobra parses the
// command line, before any command runs.
type GlobalOptions struct {
	APIKey  string
	BaseURL string
	DataDir string
	Debug   bool
}

// Factory is what a command is made from: the streams, the global flags,
// and the makers of clients, stores and tunnels. Its func fields are the
// seams tests use; nil means the real thing.
type Factory struct {
	IO     Streams
	Global *GlobalOptions

	// OpenNgrok opens the ngrok tunnel (tunnel.ListenNgrok); tests put a
	// local listener in its place, since there is no ngrok offline.
	OpenNgrok func(context.Context, tunnel.NgrokOptions) (tunnel.Tunnel, error)
	// ScreenOptions are added to the screen's tea.Program (a test's
	// window size); ScreenExited is told the screen's final model.
	ScreenOptions []tea.ProgramOption
	ScreenExited  func(tea.Model)
	// WaitWatching is called once `wait` watches for new captures.
	WaitWatching func()
}

// NewFactory returns the factory of the real process on streams s.
func NewFactory(s Streams) *Factory {
	return &Factory{IO: s, Global: &GlobalOptions{BaseURL: DefaultBaseURL}}
}

// Ngrok opens the ngrok tunnel, through the seam when a test set one.
func (f *Factory) Ngrok(ctx context.Context, o tunnel.NgrokOptions) (tunnel.Tunnel, error) {
	if f.OpenNgrok != nil {
		return f.OpenNgrok(ctx, o)
	}
	return tunnel.ListenNgrok(ctx, o)
}

// Client builds the Omega API client from the global flags.
func (f *Factory) Client() (*omega.Client, error) {
	g := f.Global
	if g.APIKey == "" {
		return nil, errors.New("no Omega API key: set OMEGA_API_KEY or pass --api-key (or try `omega-listen --emulate` to run without an account)")
	}
	c, err := omega.NewClient(omega.Options{
		BaseURL:   g.BaseURL,
		APIKey:    g.APIKey,
		UserAgent: UserAgent(),
		Logger:    f.Logger(),
	})
	if err != nil {
		return nil, Usagef("--base-url: %w", err)
	}
	return c, nil
}

// CommandClient is Client for the commands beside a listener (endpoints,
// events, replay --from-omega): with no API key given, a running
// `omega-listen --emulate` on the data dir lends its emulator, so those
// commands work against it as they would against Omega.
func (f *Factory) CommandClient() (*omega.Client, error) {
	g := f.Global
	if g.APIKey == "" && g.BaseURL == DefaultBaseURL {
		if dir, err := f.DataDir(); err == nil {
			if si, err := session.Find(dir); err == nil && si.Emulator != nil {
				fmt.Fprintf(f.IO.Err, "Using the emulator of the omega-listen --emulate running on %s.\n", dir)
				c, err := omega.NewClient(omega.Options{BaseURL: si.Emulator.BaseURL, APIKey: si.Emulator.APIKey, UserAgent: UserAgent(), Logger: f.Logger()})
				if err != nil {
					return nil, fmt.Errorf("the running emulator's session: %w", err)
				}
				return c, nil
			}
		}
	}
	return f.Client()
}

// Logger is the diagnostics log: stderr with --debug, else nowhere.
func (f *Factory) Logger() *slog.Logger {
	if !f.Global.Debug {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(f.IO.Err, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// DataDir resolves --data-dir: the flag or env, else the per-user state dir.
func (f *Factory) DataDir() (string, error) {
	s := f.IO
	if f.Global.DataDir != "" {
		return filepath.Abs(f.Global.DataDir)
	}
	if d := s.Env("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "omega-listen"), nil
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "windows" {
		d, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("finding a data dir: %w; pass --data-dir", err)
		}
		return filepath.Join(d, "omega-listen"), nil
	}
	home := s.Env("HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("finding a data dir: %w; pass --data-dir or set OMEGA_LISTEN_HOME", err)
		}
		home = h
	}
	return filepath.Join(home, ".local", "state", "omega-listen"), nil
}

// OpenStore opens the capture store for a command other than listen
// (captures, replay, wait). It never prunes: retention is the listener's
// (--retain), so a command run beside a listener with a larger --retain
// does not cut that listener's store down to the default.
func (f *Factory) OpenStore() (*capture.Store, error) {
	dir, err := f.DataDir()
	if err != nil {
		return nil, err
	}
	st, err := capture.Open(dir, capture.Options{Retain: -1, Logger: f.Logger()})
	if err != nil {
		return nil, fmt.Errorf("opening the capture store in %s: %w", dir, err)
	}
	return st, nil
}

// Editor is the editor for `replay --edit` and the screen's `e`: $VISUAL,
// else $EDITOR, else vi. It may carry arguments ("code --wait").
func (f *Factory) Editor() string {
	for _, k := range []string{"VISUAL", "EDITOR"} {
		if e := f.IO.Env(k); e != "" {
			return e
		}
	}
	return "vi"
}

const envAnnotation = "omega-listen/env"

// AddGlobalFlags defines the persistent flags of the root command into
// f.Global.
func (f *Factory) AddGlobalFlags(root *cobra.Command) {
	g := f.Global
	pf := root.PersistentFlags()
	pf.StringVar(&g.APIKey, "api-key", "", "Omega API key (never printed or stored)")
	pf.StringVar(&g.BaseURL, "base-url", DefaultBaseURL, "Omega API base URL")
	pf.StringVar(&g.DataDir, "data-dir", "", "directory for captures and session files (default: per-user state dir)")
	pf.BoolVar(&g.Debug, "debug", false, "log diagnostics to stderr")
	BindEnv(pf, "api-key", "OMEGA_API_KEY")
	BindEnv(pf, "base-url", "OMEGA_BASE_URL")
	BindEnv(pf, "data-dir", "OMEGA_LISTEN_HOME")
}

// BindEnv makes flag name readable from env var, and says so in its help.
func BindEnv(fs *pflag.FlagSet, name, env string) {
	fl := fs.Lookup(name)
	if fl == nil {
		panic("BindEnv: no flag " + name)
	}
	if fl.Annotations == nil {
		fl.Annotations = map[string][]string{}
	}
	fl.Annotations[envAnnotation] = []string{env}
	fl.Usage += " (env " + env + ")"
}

// ApplyEnv sets every flag of cmd the user did not give from its env var.
func (f *Factory) ApplyEnv(cmd *cobra.Command) error {
	var firstErr error
	visit := func(fl *pflag.Flag) {
		env := fl.Annotations[envAnnotation]
		if len(env) == 0 || fl.Changed || firstErr != nil {
			return
		}
		v := f.IO.Env(env[0])
		if v == "" {
			return
		}
		if err := fl.Value.Set(v); err != nil {
			firstErr = Usagef("invalid %s=%q: %v", env[0], redactIf(fl.Name, v), err)
		}
	}
	cmd.Flags().VisitAll(visit)
	cmd.InheritedFlags().VisitAll(visit)
	return firstErr
}

func redactIf(flag, v string) string {
	if strings.Contains(flag, "key") || strings.Contains(flag, "token") {
		return "<redacted>"
	}
	return v
}
