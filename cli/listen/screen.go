package listen

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/feed"
	"github.com/omega-listen/omega-listen/replay"
	"github.com/omega-listen/omega-listen/tui"
)

// screen is the terminal UI of a listener: the tui program, fed by the
// listener's stream (feed) through tui.Bridge. It keeps the teardown steps
// and warnings it showed, to print them again once the alternate screen is
// gone; news that comes after the program ended goes to stderr.
type screen struct {
	p        *tea.Program
	done     chan struct{} // the program has exited
	bridged  chan struct{} // the bridge has handed over its last events
	quit     chan struct{} // the user asked to quit (q, ctrl-c)
	quitOnce sync.Once
	err      error // from Program.Run, once done is closed

	mu    sync.Mutex
	steps []string // teardown lines and warnings, printed again once the screen is gone
}

// useScreen: the TUI is the default on a terminal (both ways: it reads
// keys); --print and --format json keep lines.
func (l *listener) useScreen() bool {
	return l.f.IO.OutIsTerminal && l.f.IO.InIsTerminal && !l.cfg.opts.Print && !l.cfg.json
}

func (l *listener) startScreen(ctx context.Context, sub *feed.Sub) *screen {
	sc := &screen{done: make(chan struct{}), quit: make(chan struct{}), bridged: make(chan struct{})}
	editor := l.f.Editor()
	m := tui.New(tui.Options{
		Info: tui.Info{
			WebhookURL: l.webhookURL(), PublicURL: l.tun.PublicURL(), EndpointID: l.endpoint.ID,
			Forward: l.cfg.target.String(), Tunnel: l.tun.Provider(), Events: l.cfg.events,
			Emulated: l.emu != nil, SessionID: l.sessionID, SampleApp: l.sample != nil, Web: l.webURL,
		},
		Actions: tui.Actions{
			List: l.store.List,
			Load: l.store.Get,
			Replay: func(ctx context.Context, id string, body []byte) (*capture.Capture, error) {
				orig, err := l.store.Get(ctx, id)
				if err != nil {
					return nil, err
				}
				return l.rp.One(ctx, orig, "", body)
			},
			Curl:      func(c *capture.Capture) string { return capture.Curl(c, "") },
			CheckEdit: replay.CheckEdited,
			Quit:      func() { sc.quitOnce.Do(func() { close(sc.quit) }) },
			Trigger:   l.screenTrigger(),
			Copy:      systemClipboard(l.f.IO.Env, runtime.GOOS),
		},
		NoColor: l.f.IO.Env("NO_COLOR") != "",
		Editor: func(path string) (*exec.Cmd, error) {
			return replay.EditorCommand(context.Background(), editor, path)
		},
	})
	opts := append([]tea.ProgramOption{tea.WithInput(l.f.IO.In), tea.WithOutput(l.f.IO.Out), tea.WithContext(ctx),
		// Signals are the listener's: SIGINT and SIGTERM start teardown,
		// which the screen then shows.
		tea.WithoutSignalHandler()}, l.f.ScreenOptions...)
	sc.p = tea.NewProgram(m, opts...)
	go func() {
		var final tea.Model
		final, sc.err = sc.p.Run()
		if l.f.ScreenExited != nil {
			l.f.ScreenExited(final)
		}
		close(sc.done)
	}()
	go func() {
		defer close(sc.bridged)
		tui.Bridge(ctx, sc.tee(sub.C(), l.f.IO.Err), sc.p.Send)
	}()
	return sc
}

// tee passes the stream on to the program, keeping the steps and warnings
// to print again later; once the program has ended, it prints them on
// errW instead (nothing else would show them).
func (sc *screen) tee(in <-chan feed.Event, errW io.Writer) <-chan feed.Event {
	out := make(chan feed.Event)
	go func() {
		defer close(out)
		for ev := range in {
			n := ev.Note
			keep := n != nil && (n.Kind == feed.Step && !n.Pending || n.Kind == feed.Notice && n.Warn)
			if !sc.alive() {
				if keep {
					fmt.Fprintln(errW, n.Text)
				}
				continue
			}
			if keep {
				sc.mu.Lock()
				sc.steps = append(sc.steps, n.Text)
				sc.mu.Unlock()
			}
			select {
			case out <- ev:
			case <-sc.done:
				if keep {
					fmt.Fprintln(errW, n.Text)
				}
			}
		}
	}()
	return out
}

// alive reports whether the program still runs.
func (sc *screen) alive() bool {
	select {
	case <-sc.done:
		return false
	default:
		return true
	}
}

// finish ends the program after teardown, once the bridge has handed over
// the last deliveries (the caller has Finished the subscription), and waits
// for the terminal to be given back. It returns the teardown lines to
// print where they stay.
func (sc *screen) finish() []string {
	select {
	case <-sc.bridged:
	case <-sc.done:
	case <-time.After(3 * time.Second):
	}
	sc.p.Send(tui.DoneMsg{})
	select {
	case <-sc.done:
	case <-time.After(3 * time.Second):
		sc.p.Kill()
		<-sc.done
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.steps
}
