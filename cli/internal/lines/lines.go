// Package lines is the listener's line presenter: stripe-style text lines or
// NDJSON, one per delivery, read from the feed like every other presenter;
// replay and wait print their deliveries with it too.
package lines

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/cli/internal/cmdutil"
	"github.com/omega-listen/omega-listen/feed"
	"github.com/omega-listen/omega-listen/omega"
	"github.com/omega-listen/omega-listen/text"
	"github.com/omega-listen/omega-listen/tui"
)

// Printer writes the listener's output lines: stripe-style text, or
// NDJSON where every line is one JSON object. Each line is flushed at once.
type Printer struct {
	mu   sync.Mutex
	w    *bufio.Writer
	json bool
	// ErrW takes the listener's news in text mode (tunnel changes,
	// notices, shutdown steps): they are diagnostics, not output.
	ErrW io.Writer

	tunnelSeen bool   // the first tunnel note is the state at the start
	tunnel     string // the last tunnel state printed
	scratch    []byte // completedWith's JSON line
}

// New is a printer writing to w: NDJSON when asJSON, else text lines.
func New(w io.Writer, asJSON bool) *Printer {
	// Room for a burst of JSON lines, each with its event (4 KB is
	// common): a line longer than the buffer is one write of its own.
	return &Printer{w: bufio.NewWriterSize(w, 64<<10), json: asJSON}
}

type ReadyInfo struct {
	Forward    string   `json:"forward"`
	EndpointID string   `json:"endpoint_id"`
	WebhookURL string   `json:"webhook_url"`
	PublicURL  string   `json:"public_url"`
	Events     []string `json:"events"`
	Tunnel     string   `json:"tunnel"`
	Emulated   bool     `json:"emulated"`
	SampleApp  bool     `json:"sample_app,omitempty"` // Forward is the built-in sample app
	DataDir    string   `json:"data_dir"`
	// CustomDir: the data dir is not the default, so other commands need
	// to be told it.
	CustomDir bool `json:"-"`
	// Web is the web inspector's URL ("" with --web off).
	Web string `json:"web,omitempty"`
}

// Emit writes one line and flushes it.
func (p *Printer) Emit(text string, obj any) {
	p.write(text, obj)
	p.Flush()
}

func (p *Printer) Flush() {
	p.mu.Lock()
	p.w.Flush()
	p.mu.Unlock()
}

// encodedLine is a line already in JSON, which write takes as it is.
type encodedLine []byte

// write buffers one line; flush sends it.
func (p *Printer) write(text string, obj any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.json {
		data, encoded := obj.(encodedLine)
		if !encoded {
			var err error
			if data, err = json.Marshal(obj); err != nil {
				data, _ = json.Marshal(map[string]string{"type": "error", "error": err.Error()})
			}
		}
		p.w.Write(cmdutil.EscapeC1(data))
		p.w.WriteByte('\n')
	} else {
		p.w.WriteString(text)
		p.w.WriteByte('\n')
	}
}

func (p *Printer) Ready(r ReadyInfo) {
	fwd := r.Forward
	if r.SampleApp {
		fwd = "the built-in sample app at " + r.Forward + " (it answers 200; --forward sends them to your app)"
	}
	line := fmt.Sprintf("Ready! Forwarding Omega events to %s (endpoint %s, public URL %s). Press Ctrl-C to quit.",
		fwd, cmdutil.ShortID(r.EndpointID, 8)+"…", r.WebhookURL)
	if r.Web != "" {
		line += " Web inspector: " + r.Web
	}
	if r.Emulated {
		line += "\nThis is the built-in Omega emulator. Send an event from another shell:  omega-listen trigger video.process_succeeded"
		if r.CustomDir {
			line += " --data-dir " + text.ShellQuote(r.DataDir)
		}
	}
	p.Emit(line, struct {
		Type string    `json:"type"`
		Time time.Time `json:"time"`
		ReadyInfo
	}{"ready", time.Now().UTC(), r})
}

// deliveryLine is the JSON form of one delivery.
type deliveryLine struct {
	Type       string    `json:"type"` // "received", "delivery" or "rejected"
	Time       time.Time `json:"time"`
	CaptureID  string    `json:"capture_id"`
	EventID    string    `json:"event_id,omitempty"`
	EventType  string    `json:"event_type,omitempty"`
	Method     string    `json:"method"`
	Path       string    `json:"path,omitempty"`
	Target     string    `json:"target,omitempty"`
	Status     int       `json:"status,omitempty"`      // the app's
	SentStatus int       `json:"sent_status,omitempty"` // what the sender got
	DurationMS float64   `json:"duration_ms,omitempty"`
	Error      string    `json:"error,omitempty"`
	Outcome    string    `json:"outcome"`
	NotJSON    bool      `json:"not_json,omitempty"`
	NotOmega   bool      `json:"not_omega,omitempty"`
	ReplayOf   string    `json:"replay_of,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	BodyBytes  int       `json:"body_bytes"`
	Backfill   bool      `json:"backfill,omitempty"`   // delivered from Omega's history by --backfill
	QueuedAt   time.Time `json:"queued_at,omitzero"`   // held by the relay while the listener was away, since then
	FromOmega  bool      `json:"from_omega,omitempty"` // fetched from Omega's history by replay --from-omega
	// "event", the delivery's body when it is JSON (as `stripe listen
	// --format JSON` prints the event), is added last by completedWith.
}

const TimeLayout = "2006-01-02 15:04:05"

func (p *Printer) Received(c capture.Summary) {
	if p.json {
		return // JSON gets one line per completed delivery
	}
	p.write(fmt.Sprintf("%s  --> %s", c.ReceivedAt.Local().Format(TimeLayout), DescribeEvent(c)), nil)
}

func DescribeEvent(c capture.Summary) string {
	switch {
	case c.Flags.Has(capture.FlagNotJSON):
		return fmt.Sprintf("(not JSON, %d bytes) [%s]", c.BodySize, c.ID)
	case c.Flags.Has(capture.FlagNotOmega):
		return fmt.Sprintf("(JSON, not an Omega event, %d bytes) [%s]", c.BodySize, c.ID)
	}
	s := cmdutil.Clean(c.EventType) + " [" + cmdutil.Clean(c.EventID) + "]"
	if c.ReplayOf != "" {
		s += " (replay of " + c.ReplayOf + ")"
	}
	if c.Flags.Has(capture.FlagBackfill) {
		s += " (backfill)"
	}
	if c.Flags.Has(capture.FlagQueued) {
		s += " (" + tui.QueuedNote(c) + ")"
	}
	if c.Flags.Has(capture.FlagFromOmega) {
		s += " (from Omega)"
	}
	return s
}

func (p *Printer) Completed(c capture.Summary) { p.CompletedWith(c, nil) }

// completedWith is completed with the request body, which JSON lines
// carry as "event" when it is JSON.
func (p *Printer) CompletedWith(c capture.Summary, body []byte) {
	line := deliveryLine{
		Type: "delivery", Time: c.ReceivedAt.UTC(), CaptureID: c.ID, EventID: c.EventID, EventType: c.EventType,
		Method: c.Method, Target: c.Target, Status: c.Status, SentStatus: c.SentStatus,
		DurationMS: float64(c.Duration.Microseconds()) / 1000, Error: c.Error, Outcome: string(c.Outcome()),
		NotJSON: c.Flags.Has(capture.FlagNotJSON), NotOmega: c.Flags.Has(capture.FlagNotOmega),
		ReplayOf: c.ReplayOf, BodyBytes: c.BodySize, Backfill: c.Flags.Has(capture.FlagBackfill), FromOmega: c.Flags.Has(capture.FlagFromOmega),
	}
	if !c.QueuedAt.IsZero() {
		line.QueuedAt = c.QueuedAt.UTC()
	}
	if c.Flags.Has(capture.FlagRejected) {
		line.Type, line.Path, line.Reason = "rejected", c.Path, c.RejectReason
	}
	if p.json {
		p.writeJSONLine(line, body)
		return
	}
	p.write(deliveryText(c), nil)
}

// deliveryText is a finished delivery's text line.
func deliveryText(c capture.Summary) string {
	ts := c.ReceivedAt.Local().Format(TimeLayout)
	if c.Flags.Has(capture.FlagRejected) {
		return fmt.Sprintf("%s  xx  [%d] %s %s rejected: %s  %s", ts, c.SentStatus, cmdutil.Clean(c.Method), cmdutil.Clean(cmdutil.Truncate(c.Path, 60)), cmdutil.Clean(c.RejectReason), tui.ShortID(c.ID))
	}
	id := c.EventID
	if id == "" {
		id = c.ID
	}
	status := fmt.Sprintf("[%d]", c.Status)
	tail := text.Duration(c.Duration)
	if c.Error != "" {
		status = fmt.Sprintf("[%d]", c.SentStatus)
		tail = "failed: " + cmdutil.Clean(c.Error)
	}
	// The short capture ID last: what replay and captures show take
	// (as they take the event ID).
	return fmt.Sprintf("%s  <-- %s %s %s [%s] %s  %s", ts, status, cmdutil.Clean(c.Method), c.Target, cmdutil.Clean(id), tail, tui.ShortID(c.ID))
}

// writeJSONLine writes a delivery's JSON line, with its body as "event"
// when the body is JSON.
func (p *Printer) writeJSONLine(line deliveryLine, body []byte) {
	if len(body) > 0 {
		// omega.AppendCompact checks and compacts the event for a sixth
		// of what encoding/json takes, into a buffer kept for the next
		// line: only follow's goroutine prints deliveries.
		data, _ := json.Marshal(line)
		b := append(append(p.scratch[:0], data[:len(data)-1]...), `,"event":`...)
		if b, ok := omega.AppendCompact(b, body); ok {
			p.scratch = append(b, '}')
			p.write("", encodedLine(p.scratch))
			return
		}
	}
	p.write("", line)
}

// follow prints the stream's events until the subscription closes. When the bus says
// we lagged, the store is the truth: print what completed since. Lines go
// out as soon as no more events are waiting, so a burst costs one write
// instead of one per line, and a lone delivery is not delayed at all.
func (p *Printer) Follow(sub *feed.Sub, store *capture.Store) {
	done := printedSet{}
	events := sub.C()
	for {
		ev, ok := <-events
		if !ok {
			p.Flush()
			return
		}
		p.handle(ev, store, done)
	drain:
		for range 256 {
			select {
			case ev, ok := <-events:
				if !ok {
					break drain
				}
				p.handle(ev, store, done)
			default:
				break drain
			}
		}
		p.Flush()
	}
}

// printedSet remembers which captures' completions were printed, so that
// reading back after a lag, and the events that repeat it, print each once.
type printedSet map[string]int64 // id → seq

// printedKeep bounds the set; the oldest half goes when it is full. A lag
// reaching further back than that may print an old completion twice.
const printedKeep = 1 << 16

func (ps printedSet) add(c capture.Summary) bool {
	if _, ok := ps[c.ID]; ok {
		return false
	}
	if len(ps) >= printedKeep {
		seqs := make([]int64, 0, len(ps))
		for _, s := range ps {
			seqs = append(seqs, s)
		}
		slices.Sort(seqs)
		cut := seqs[len(seqs)/2]
		for id, s := range ps {
			if s < cut {
				delete(ps, id)
			}
		}
	}
	ps[c.ID] = c.Seq
	return true
}

func (p *Printer) handle(ev feed.Event, store *capture.Store, done printedSet) {
	if ev.Note != nil {
		p.note(*ev.Note)
		return
	}
	if ev.Lagged {
		// Everything from the first capture whose event was dropped: some
		// of it was printed already (done says which). Summaries: a line
		// needs no bodies, and this runs when behind.
		caps, err := store.List(context.Background(), capture.Query{AfterSeq: ev.MissedFromSeq - 1})
		if err != nil {
			p.Emit(fmt.Sprintf("(output fell behind and the store could not be read: %v)", err), map[string]string{"type": "error", "error": err.Error()})
			return
		}
		n := 0
		for _, c := range caps {
			if c.State == capture.StateDone && done.add(c) {
				if n == 0 {
					p.Emit("(output fell behind; reading the rest back from the store)", map[string]any{"type": "lagged"})
				}
				p.Completed(c)
				n++
			}
		}
		return
	}
	c := ev.Capture.Summary()
	switch ev.Kind {
	case capture.Received:
		// A rejected request has one line, with its Completed.
		if _, ok := done[c.ID]; !ok && !c.Flags.Has(capture.FlagRejected) {
			p.Received(c)
		}
	case capture.Completed:
		if done.add(c) {
			p.CompletedWith(c, ev.Capture.Body)
		}
	}
}

// note prints one of the listener's notes: NDJSON lines with the
// deliveries (tunnel changes and notices), or text on stderr.
func (p *Printer) note(n feed.Note) {
	switch n.Kind {
	case feed.Tunnel:
		t := n.Tunnel
		first := !p.tunnelSeen
		p.tunnelSeen = true
		if first || t.State == p.tunnel || t.State == "closed" {
			p.tunnel = t.State
			return // the state at the start, a repeat, or our own doing
		}
		p.tunnel = t.State
		if p.json {
			obj := map[string]any{"type": "tunnel", "time": n.At.UTC(), "state": t.State, "url": t.URL}
			if t.Err != "" {
				obj["error"] = t.Err
			}
			p.Emit("", obj)
			return
		}
		msg := ""
		switch t.State {
		case "disconnected":
			msg = "Tunnel disconnected; deliveries fail until it is back. Reconnecting…"
			if t.Err != "" {
				msg = fmt.Sprintf("Tunnel disconnected (%s); deliveries fail until it is back. Reconnecting…", t.Err)
			}
			if t.Text != "" {
				msg = t.Text
			}
		case "reconnected", "connected":
			msg = "Tunnel reconnected: " + t.URL
		case "connecting":
			msg = "Tunnel connecting…"
		default:
			msg = "Tunnel " + t.State
		}
		p.stderr(fmt.Sprintf("%s  %s", n.At.Local().Format(TimeLayout), msg))
	case feed.Notice:
		switch {
		case n.Warn:
			// A warning is part of the lines; with NDJSON it is also said
			// on stderr, where a person watching a script's run looks.
			p.Emit(n.Text, struct {
				Type    string    `json:"type"`
				Time    time.Time `json:"time"`
				Message string    `json:"message"`
				Target  string    `json:"target,omitempty"`
			}{"warning", n.At.UTC(), n.Text, n.Target})
			if p.json {
				p.stderr(n.Text)
			}
		case p.json:
			p.Emit("", map[string]string{"type": "notice", "time": n.At.UTC().Format(time.RFC3339Nano), "message": n.Text})
		default:
			p.stderr(fmt.Sprintf("%s  %s", n.At.Local().Format(TimeLayout), n.Text))
		}
	case feed.Step:
		if !n.Pending {
			p.stderr(n.Text)
		}
	}
}

// stderr writes a line of news on stderr, after what is already buffered
// for stdout.
func (p *Printer) stderr(line string) {
	if p.ErrW == nil {
		return
	}
	p.Flush() // what came before it goes first
	fmt.Fprintln(p.ErrW, line)
}
