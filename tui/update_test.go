package tui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/omega"
)

func hasMsg(msgs []tea.Msg, want tea.Msg) bool {
	for _, m := range msgs {
		if reflect.DeepEqual(m, want) {
			return true
		}
	}
	return false
}

func msgOfType(msgs []tea.Msg, typ string) bool {
	for _, m := range msgs {
		if fmt.Sprintf("%T", m) == typ {
			return true
		}
	}
	return false
}

// manyRows is n finished deliveries of this session.
func manyRows(n int) []*capture.Capture {
	out := make([]*capture.Capture, n)
	for i := range out {
		out[i] = fixture(100+i, omega.TypeProcessSucceeded, 200)
	}
	return out
}

func TestListKeys(t *testing.T) {
	// 50 rows on a 100x20 screen: a list 14 rows high. The model starts
	// following, with the newest (index 49) selected.
	type want struct {
		sel    int
		follow bool
		mode   mode
	}
	tests := []struct {
		name string
		keys []string
		want want
	}{
		{"k moves up and stops following", []string{"k"}, want{48, false, modeList}},
		{"up arrow too", []string{"up"}, want{48, false, modeList}},
		{"j back to the newest follows again", []string{"k", "k", "j", "j"}, want{49, true, modeList}},
		{"down arrow at the bottom stays", []string{"down"}, want{49, true, modeList}},
		{"pgup moves a page", []string{"pgup"}, want{35, false, modeList}},
		{"pgdown back to the bottom follows", []string{"pgup", "pgdown"}, want{49, true, modeList}},
		{"g goes to the top", []string{"g"}, want{0, false, modeList}},
		{"home too", []string{"home"}, want{0, false, modeList}},
		{"G follows", []string{"g", "G"}, want{49, true, modeList}},
		{"end too", []string{"g", "end"}, want{49, true, modeList}},
		{"k at the top stays", []string{"g", "k"}, want{0, false, modeList}},
		{"enter opens the detail", []string{"k", "enter"}, want{48, false, modeDetail}},
		{"esc in the detail goes back", []string{"k", "enter", "esc"}, want{48, false, modeList}},
		{"? opens help, keys then do not move", []string{"?", "k"}, want{49, true, modeList}},
		{"q quits", []string{"q"}, want{49, true, modeShutdown}},
		{"ctrl+c quits", []string{"ctrl+c"}, want{49, true, modeShutdown}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := started(t, manyRows(50), 100, 20)
			press(m, tt.keys...)
			got := want{m.main.sel, m.main.follow, m.mode}
			if got != tt.want {
				t.Errorf("after %v: sel %d follow %v mode %v, want sel %d follow %v mode %v",
					tt.keys, got.sel, got.follow, got.mode, tt.want.sel, tt.want.follow, tt.want.mode)
			}
			// The selected row is always on screen.
			if line := m.lineOf(&m.main, m.main.sel); line < m.main.top || line >= m.main.top+m.listHeight() {
				t.Errorf("selected line %d is off screen (top %d, height %d)", line, m.main.top, m.listHeight())
			}
		})
	}
}

func TestFollowNewRows(t *testing.T) {
	m, _ := started(t, manyRows(50), 100, 20)
	next := fixture(500, omega.TypeProcessFailed, 200).Summary()
	m.Update(deliveriesMsg{rows: []capture.Summary{next}})
	if s, _ := m.selected(); s.ID != next.ID || !m.main.follow {
		t.Fatalf("following: selected %s, want the new row %s", s.ID, next.ID)
	}
	press(m, "k", "k")
	before, _ := m.selected()
	top := m.main.top
	next2 := fixture(501, omega.TypeProcessFailed, 200).Summary()
	m.Update(deliveriesMsg{rows: []capture.Summary{next2}})
	if s, _ := m.selected(); s.ID != before.ID || m.main.top != top || m.main.follow {
		t.Fatalf("scrolled away: a new row moved the selection to %s (top %d→%d)", s.ID, top, m.main.top)
	}
	press(m, "G")
	if s, _ := m.selected(); s.ID != next2.ID {
		t.Fatalf("G: selected %s, want %s", s.ID, next2.ID)
	}
}

func TestOlderPages(t *testing.T) {
	fs := &fakeStore{}
	fs.add(manyRows(25)...)
	m := New(Options{Info: testInfo, Actions: fs.actions(), NoColor: true, History: 10})
	m.after = func(time.Duration, tea.Msg) tea.Cmd { return nil }
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 20})
	run(m, m.Init())
	if n := m.main.rows.len(); n != 10 {
		t.Fatalf("start: %d rows, want the history of 10", n)
	}
	press(m, "g") // to the oldest loaded, which loads the page before it
	if n := m.main.rows.len(); n != 20 {
		t.Fatalf("after g: %d rows, want 20", n)
	}
	q := fs.queries[len(fs.queries)-1]
	if q.BeforeSeq != 1115 || !q.Newest || q.Limit != 10 {
		t.Errorf("older page query %+v, want BeforeSeq 1115, Newest, Limit 10", q)
	}
	if s, _ := m.selected(); s.Seq != 1115 {
		t.Errorf("the selection moved with the load: now Seq %d, want 1115", s.Seq)
	}
	press(m, "g", "g")
	if n := m.main.rows.len(); n != 25 || !m.olderDone {
		t.Fatalf("after more g: %d rows (olderDone %v), want all 25", n, m.olderDone)
	}
	nq := len(fs.queries)
	press(m, "g", "k")
	if len(fs.queries) != nq {
		t.Errorf("asked the store again with nothing older left: %+v", fs.queries[nq:])
	}
}

func TestActionKeys(t *testing.T) {
	caps := fixtures()
	okCap := caps[2]
	replayed := fixture(40, omega.TypeProcessSucceeded, 200)
	replayed.ReplayOf = okCap.ID

	t.Run("r replays the selected row", func(t *testing.T) {
		m, fs := started(t, caps, 100, 30)
		fs.replayed = replayed
		press(m, "k", "k", "k", "k", "k") // okCap
		press(m, "r")
		if len(fs.replays) != 1 || fs.replays[0] != okCap.ID || fs.bodies[0] != nil {
			t.Fatalf("replays %v bodies %q, want one of %s with the original body", fs.replays, fs.bodies, okCap.ID)
		}
		if want := "replayed " + okCap.ID + " → 200 OK (" + replayed.ID + ")"; m.status != want {
			t.Errorf("status %q, want %q", m.status, want)
		}
		if m.main.rows.find(replayed.ID) < 0 {
			t.Errorf("the replay's capture is not in the list")
		}
	})
	t.Run("r reports a failed replay", func(t *testing.T) {
		m, _ := started(t, caps, 100, 30)
		press(m, "r")
		if !strings.Contains(m.status, "failed: app down") || !m.statusErr {
			t.Errorf("status %q (error %v)", m.status, m.statusErr)
		}
	})
	t.Run("r without Replay", func(t *testing.T) {
		fs := &fakeStore{}
		fs.add(caps...)
		acts := fs.actions()
		acts.Replay = nil
		m := newTestModel(t, acts, 100, 30)
		run(m, m.Init())
		press(m, "r")
		if m.status != "replay not available" {
			t.Errorf("status %q", m.status)
		}
		press(m, "e")
		if m.status != "replay not available" {
			t.Errorf("e: status %q", m.status)
		}
	})
	t.Run("c copies the body", func(t *testing.T) {
		m, fs := started(t, caps, 100, 30)
		msgs := press(m, "c")
		last := caps[len(caps)-1]
		if !hasMsg(msgs, tea.SetClipboard(string(last.Body))()) {
			t.Fatalf("no clipboard message with the body in %v", msgs)
		}
		// OSC 52 cannot be confirmed: the status says it was sent, and how
		// to make a terminal that drops it (tmux) take it.
		if len(fs.loads) != 1 || !strings.HasPrefix(m.status, "sent the body") || strings.Contains(m.status, "copied the body") ||
			!strings.Contains(m.status, "set -g set-clipboard on") {
			t.Errorf("loads %v status %q", fs.loads, m.status)
		}
	})
	t.Run("c with a system clipboard says it copied, and sends no OSC 52", func(t *testing.T) {
		fs := &fakeStore{}
		fs.add(caps...)
		acts := fs.actions()
		var got string
		acts.Copy = func(text string) (string, error) { got = text; return "pbcopy", nil }
		m := newTestModel(t, acts, 100, 30)
		run(m, m.Init())
		msgs := press(m, "c")
		last := caps[len(caps)-1]
		if got != string(last.Body) || !strings.HasPrefix(m.status, "copied the body") || !strings.Contains(m.status, "(pbcopy)") {
			t.Errorf("copied %q, status %q", got, m.status)
		}
		if msgOfType(msgs, "tea.setClipboardMsg") {
			t.Errorf("sent OSC 52 as well: %v", msgs)
		}
	})
	t.Run("c falls back to OSC 52 when the system clipboard fails", func(t *testing.T) {
		fs := &fakeStore{}
		fs.add(caps...)
		acts := fs.actions()
		acts.Copy = func(string) (string, error) { return "", errors.New("no display") }
		m := newTestModel(t, acts, 100, 30)
		run(m, m.Init())
		msgs := press(m, "c")
		if !msgOfType(msgs, "tea.setClipboardMsg") || !strings.HasPrefix(m.status, "sent the body") {
			t.Errorf("status %q msgs %v", m.status, msgs)
		}
	})
	t.Run("y copies a curl command, in the detail view from what it loaded", func(t *testing.T) {
		m, fs := started(t, caps, 100, 30)
		press(m, "enter")
		loads := len(fs.loads)
		msgs := press(m, "y")
		if !hasMsg(msgs, tea.SetClipboard("curl -X POST http://localhost:8888/webhook")()) {
			t.Fatalf("no clipboard message with the curl command in %v", msgs)
		}
		if len(fs.loads) != loads {
			t.Errorf("loaded the capture again")
		}
	})
	t.Run("y without Curl", func(t *testing.T) {
		fs := &fakeStore{}
		fs.add(caps...)
		acts := fs.actions()
		acts.Curl = nil
		m := newTestModel(t, acts, 100, 30)
		run(m, m.Init())
		if msgs := press(m, "y"); msgOfType(msgs, "tea.setClipboardMsg") || m.status != "curl command not available" {
			t.Errorf("status %q msgs %v", m.status, msgs)
		}
	})
	t.Run("v toggles the raw body in the detail view", func(t *testing.T) {
		m, _ := started(t, caps, 100, 60)
		press(m, "enter", "v")
		if !m.det.raw || !strings.Contains(m.det.vp.GetContent(), `{"id":"evt`) {
			t.Fatalf("raw %v, content:\n%s", m.det.raw, m.det.vp.GetContent())
		}
		press(m, "v")
		if m.det.raw || !strings.Contains(m.det.vp.GetContent(), `  "id": "evt`) {
			t.Fatalf("pretty: raw %v, content:\n%s", m.det.raw, m.det.vp.GetContent())
		}
	})
	t.Run("detail scrolls", func(t *testing.T) {
		m, _ := started(t, caps, 60, 15)
		press(m, "enter", "j", "j")
		if m.det.vp.YOffset() != 2 {
			t.Fatalf("j j: offset %d", m.det.vp.YOffset())
		}
		press(m, "k")
		if m.det.vp.YOffset() != 1 {
			t.Fatalf("k: offset %d", m.det.vp.YOffset())
		}
		press(m, "G")
		bottom := m.det.vp.YOffset()
		if !m.det.vp.AtBottom() {
			t.Fatalf("G: not at the bottom (offset %d)", bottom)
		}
		press(m, "pgup")
		if m.det.vp.YOffset() != bottom-m.det.vp.Height() {
			t.Fatalf("pgup: offset %d, want %d", m.det.vp.YOffset(), bottom-m.det.vp.Height())
		}
		press(m, "pgdown", "g")
		if m.det.vp.YOffset() != 0 {
			t.Fatalf("g: offset %d", m.det.vp.YOffset())
		}
	})
}

func TestEditKey(t *testing.T) {
	caps := fixtures()
	last := caps[len(caps)-1]
	prep := func(t *testing.T) (*Model, *fakeStore, editReadyMsg) {
		m, fs := started(t, caps, 100, 30)
		fs.replayed = fixture(41, omega.TypeProcessFailed, 200)
		msgs := press(m, "e")
		if !msgOfType(msgs, "tea.execMsg") {
			t.Fatalf("e: no editor started: %v", msgs)
		}
		var ready editReadyMsg
		for _, x := range msgs {
			if r, ok := x.(editReadyMsg); ok {
				ready = r
			}
		}
		fi, err := os.Stat(ready.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("temp file mode %v, want 0600", fi.Mode().Perm())
		}
		var pretty bytes.Buffer
		json.Indent(&pretty, last.Body, "", "  ")
		pretty.WriteByte('\n')
		if got, _ := os.ReadFile(ready.path); !bytes.Equal(got, pretty.Bytes()) || !bytes.Equal(ready.orig, last.Body) {
			t.Errorf("temp file holds %q, want the body pretty-printed", got)
		}
		return m, fs, ready
	}
	finish := func(m *Model, ready editReadyMsg, body string) {
		os.WriteFile(ready.path, []byte(body), 0o600)
		_, cmd := m.Update(editDoneMsg{id: ready.id, path: ready.path, orig: ready.orig, written: ready.written})
		run(m, cmd)
	}
	t.Run("closing the editor without a change replays nothing and says so", func(t *testing.T) {
		m, fs, ready := prep(t)
		finish(m, ready, string(ready.written))
		if len(fs.replays) != 0 || !strings.Contains(m.status, "not changed: nothing replayed") {
			t.Fatalf("replays %v, status %q", fs.replays, m.status)
		}
	})
	t.Run("a pretty edit of a compact body is sent compact", func(t *testing.T) {
		m, fs, ready := prep(t)
		finish(m, ready, strings.Replace(string(ready.written), `"ready": true`, `"ready": false`, 1))
		if len(fs.bodies) != 1 || !json.Valid(fs.bodies[0]) || bytes.Contains(fs.bodies[0], []byte("\n")) ||
			!bytes.Contains(fs.bodies[0], []byte(`"ready":false`)) {
			t.Fatalf("sent %q", fs.bodies)
		}
	})
	t.Run("edited JSON is replayed", func(t *testing.T) {
		m, fs, ready := prep(t)
		finish(m, ready, `{"edited":true}`)
		if len(fs.bodies) != 1 || string(fs.bodies[0]) != `{"edited":true}` || fs.replays[0] != last.ID {
			t.Fatalf("replays %v bodies %q", fs.replays, fs.bodies)
		}
		if !strings.HasPrefix(m.status, "replayed (edited) "+last.ID) {
			t.Errorf("status %q", m.status)
		}
		if _, err := os.Stat(ready.path); !os.IsNotExist(err) {
			t.Errorf("temp file left behind: %v", err)
		}
	})
	t.Run("an empty file aborts", func(t *testing.T) {
		m, fs, ready := prep(t)
		finish(m, ready, "  \n")
		if len(fs.replays) != 0 || !strings.Contains(m.status, "aborted") {
			t.Fatalf("replays %v status %q", fs.replays, m.status)
		}
	})
	t.Run("with CheckEdit, its rules decide and its body is sent", func(t *testing.T) {
		m, fs, ready := prep(t)
		var gotOrig []byte
		m.act.CheckEdit = func(orig, edited []byte) ([]byte, error) {
			gotOrig = orig
			if string(edited) == "refuse" {
				return nil, errors.New("the edit is refused")
			}
			return bytes.TrimSuffix(edited, []byte("\n")), nil
		}
		finish(m, ready, "refuse")
		if len(fs.replays) != 0 || !strings.Contains(m.status, "the edit is refused: not replayed") || !bytes.Equal(gotOrig, last.Body) {
			t.Fatalf("refused: replays %v status %q orig %q", fs.replays, m.status, gotOrig)
		}
		m, fs, ready = prep(t)
		m.act.CheckEdit = func(orig, edited []byte) ([]byte, error) { return bytes.TrimSuffix(edited, []byte("\n")), nil }
		finish(m, ready, "{\"a\":1}\n")
		if len(fs.bodies) != 1 || string(fs.bodies[0]) != `{"a":1}` {
			t.Fatalf("sent %q, want what CheckEdit returned", fs.bodies)
		}
	})
	t.Run("an editor that cannot be run says so", func(t *testing.T) {
		m, fs := started(t, caps, 100, 30)
		m.editor = func(string) (*exec.Cmd, error) { return nil, errors.New(`editor "vim \"x": unterminated quote`) }
		msgs := press(m, "e")
		if msgOfType(msgs, "tea.execMsg") || len(fs.replays) != 0 || !strings.Contains(m.status, "editor failed") || !m.statusErr {
			t.Fatalf("msgs %v replays %v status %q", msgs, fs.replays, m.status)
		}
		for _, x := range msgs {
			if r, ok := x.(editReadyMsg); ok {
				if _, err := os.Stat(r.path); !os.IsNotExist(err) {
					t.Errorf("temp file left behind: %v", err)
				}
			}
		}
	})
	t.Run("broken JSON is not replayed", func(t *testing.T) {
		m, fs, ready := prep(t)
		finish(m, ready, `{"edited":`)
		if len(fs.replays) != 0 || !strings.Contains(m.status, "not valid JSON") || !m.statusErr {
			t.Fatalf("replays %v status %q", fs.replays, m.status)
		}
	})
}

func TestFilterKeys(t *testing.T) {
	caps := fixtures()
	t.Run("type and status filter", func(t *testing.T) {
		m, fs := started(t, caps, 100, 30)
		// One match is in the store only (as if from a page never loaded).
		old := fixture(5, omega.TypeProcessFailed, 201)
		fs.add(old)
		press(m, "/")
		typeText(m, "status:ok type:video.process_f")
		_, cmd := m.Update(keyMsg("enter"))
		// The match in memory shows at once, before the store answers.
		if m.filt == nil || m.filt.rows.len() != 1 || m.filt.rows.rows[0].ID != caps[7].ID || !m.fltBusy {
			t.Fatalf("filtered rows before the store answered: %+v", m.filt)
		}
		run(m, cmd)
		q := fs.queries[len(fs.queries)-1]
		if !slices.Equal(q.TypePrefixes, []string{"video.process_f"}) || !slices.Equal(q.Outcomes, []capture.Outcome{capture.OutcomeOK}) ||
			len(q.StatusClasses) != 0 || q.Text != "" || !q.Newest || q.Limit != filterLimit {
			t.Fatalf("query %+v", q)
		}
		if m.filt.rows.len() != 2 || m.filt.rows.find(old.ID) < 0 || m.filt.rows.find(caps[7].ID) < 0 || m.fltBusy {
			t.Fatalf("filtered rows after the store answered: %+v", m.filt.rows.rows)
		}
		// A live row that matches joins the filtered list; one that does
		// not, only the main list. Neither needs the store again.
		nq := len(fs.queries)
		hit := fixture(50, omega.TypeProcessFailed, 204).Summary()
		miss := fixture(51, omega.TypeProcessFailed, 500).Summary()
		_, cmd = m.Update(deliveriesMsg{rows: []capture.Summary{hit, miss}})
		run(m, cmd)
		if m.filt.rows.len() != 3 || m.filt.rows.find(hit.ID) < 0 || m.filt.rows.find(miss.ID) >= 0 || m.main.rows.find(miss.ID) < 0 {
			t.Fatalf("live rows: filtered %d rows", m.filt.rows.len())
		}
		if len(fs.queries) != nq {
			t.Errorf("live rows asked the store: %+v", fs.queries[nq:])
		}
		press(m, "esc")
		if m.filt != nil || m.main.rows.len() != len(caps)+2 {
			t.Fatalf("esc: filter %v, %d rows", m.filt, m.main.rows.len())
		}
	})
	t.Run("status classes and outcomes", func(t *testing.T) {
		m, fs := started(t, caps, 100, 30)
		press(m, "/")
		typeText(m, "status:5xx,failed,rejected,pending,error,2xx")
		press(m, "enter")
		q := fs.queries[len(fs.queries)-1]
		want := []capture.Outcome{capture.OutcomeFailed, capture.OutcomeRejected, capture.OutcomePending, capture.OutcomeAppError}
		if !slices.Equal(q.StatusClasses, []int{5, 2}) || !slices.Equal(q.Outcomes, want) {
			t.Fatalf("query %+v", q)
		}
	})
	t.Run("without a store, type and status filter the rows in memory", func(t *testing.T) {
		fs := &fakeStore{}
		m := newTestModel(t, Actions{}, 100, 30)
		var rows []capture.Summary
		for _, c := range caps {
			rows = append(rows, c.Summary())
		}
		m.Update(deliveriesMsg{rows: rows})
		press(m, "/")
		typeText(m, "status:ok type:video.process_failed")
		press(m, "enter")
		if m.filt == nil || m.filt.rows.len() != 1 || m.filt.rows.rows[0].ID != caps[7].ID || m.fltBusy {
			t.Fatalf("filtered rows: %+v", m.filt)
		}
		if len(fs.queries) != 0 {
			t.Fatal("asked a store")
		}
	})
	t.Run("text asks the store", func(t *testing.T) {
		m, fs := started(t, caps, 100, 30)
		press(m, "/")
		typeText(m, `"v_11"`)
		press(m, "enter")
		q := fs.queries[len(fs.queries)-1]
		if q.Text != `v_11` || !q.Newest || q.Limit != filterLimit {
			t.Fatalf("query %+v", q)
		}
		if m.filt.rows.len() != 1 || m.filt.rows.rows[0].ID != caps[3].ID {
			t.Fatalf("filtered rows %v", m.filt.rows.rows)
		}
		// A new delivery makes it ask again, for what came after.
		c := fixture(60, omega.TypeProcessFailed, 200)
		c.Body = []byte(`{"video_id":"v_11"}`)
		fs.add(c)
		_, cmd := m.Update(deliveriesMsg{rows: []capture.Summary{c.Summary()}})
		run(m, cmd)
		if m.filt.rows.len() != 2 {
			t.Fatalf("after a matching delivery: %d rows", m.filt.rows.len())
		}
		if q := fs.queries[len(fs.queries)-1]; q.AfterSeq != caps[len(caps)-1].Seq {
			t.Errorf("refresh query %+v, want AfterSeq %d", q, caps[len(caps)-1].Seq)
		}
	})
	t.Run("text and status: a row that finishes later joins", func(t *testing.T) {
		m, fs := started(t, caps, 100, 30)
		press(m, "/")
		typeText(m, `status:5xx "needle"`)
		press(m, "enter")
		if m.filt.rows.len() != 0 {
			t.Fatalf("filtered rows at start: %v", m.filt.rows.rows)
		}
		// Two deliveries arrive pending, one with the text in its body;
		// the refresh finds neither (they match no status yet).
		hit, miss := fixture(70, omega.TypeProcessFailed, 0), fixture(71, omega.TypeProcessFailed, 0)
		hit.Body = []byte(`{"note":"needle"}`)
		for _, c := range []*capture.Capture{hit, miss} {
			c.State, c.CompletedAt, c.RespBody, c.RespHeaders = capture.StatePending, time.Time{}, nil, nil
		}
		fs.add(hit, miss)
		_, cmd := m.Update(deliveriesMsg{rows: []capture.Summary{hit.Summary(), miss.Summary()}})
		run(m, cmd)
		if m.filt.rows.len() != 0 {
			t.Fatalf("pending rows joined a status filter: %v", m.filt.rows.rows)
		}
		// Both finish with a 500: the store is asked about them by ID, and
		// only the one with the text joins.
		for _, c := range []*capture.Capture{hit, miss} {
			c.State, c.Status, c.CompletedAt = capture.StateDone, 500, c.ReceivedAt.Add(time.Millisecond)
		}
		_, cmd = m.Update(deliveriesMsg{rows: []capture.Summary{hit.Summary(), miss.Summary()}})
		run(m, cmd)
		q := fs.queries[len(fs.queries)-1]
		if !slices.Equal(q.IDs, []string{hit.ID, miss.ID}) || q.Text != "needle" {
			t.Errorf("recheck query %+v", q)
		}
		if m.filt.rows.len() != 1 || m.filt.rows.rows[0].ID != hit.ID || m.filt.rows.rows[0].Status != 500 {
			t.Fatalf("filtered rows after they finished: %+v", m.filt.rows.rows)
		}
	})
	t.Run("a bad filter keeps the input open", func(t *testing.T) {
		m, _ := started(t, caps, 100, 30)
		press(m, "/")
		typeText(m, "status:7xx")
		press(m, "enter")
		if m.input == nil || !strings.Contains(m.input.err, "status:7xx") || m.filt != nil {
			t.Fatalf("input %+v filt %v", m.input, m.filt)
		}
		press(m, "esc")
		if m.input != nil || m.filt != nil {
			t.Fatalf("esc: input %+v filt %v", m.input, m.filt)
		}
	})
	t.Run("keys type into the input", func(t *testing.T) {
		m, fs := started(t, caps, 100, 30)
		press(m, "/", "q", "r", "backspace", "space", "G")
		if got := string(m.input.value); got != "q G" || m.mode != modeList || len(fs.replays) != 0 {
			t.Fatalf("input %q mode %v", got, m.mode)
		}
	})
}

// TestFilterOlderPages: a filter shows the newest filterLimit matches in
// the store; scrolling past the top asks for the ones before them, until
// the store has no more.
func TestFilterOlderPages(t *testing.T) {
	fs := &fakeStore{}
	var caps []*capture.Capture
	for i := range 2500 {
		status := 200
		if i%2 == 0 {
			status = 500
		}
		caps = append(caps, fixture(100+i, omega.TypeProcessSucceeded, status))
	}
	fs.add(caps...)
	m := New(Options{Info: testInfo, Actions: fs.actions(), NoColor: true, History: 10})
	m.after = func(time.Duration, tea.Msg) tea.Cmd { return nil }
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 20})
	run(m, m.Init())
	press(m, "/")
	typeText(m, "status:5xx")
	press(m, "enter")
	if n := m.filt.rows.len(); n != filterLimit || m.fltOlderDone {
		t.Fatalf("after enter: %d rows (older done %v), want the newest %d", n, m.fltOlderDone, filterLimit)
	}
	first := m.filt.rows.rows[0].Seq
	if !strings.Contains(m.View().Content, "1000 matches · more above") {
		t.Errorf("status line does not say there is more:\n%s", m.View().Content)
	}
	m.fltBusy = true // a refresh in flight (for newer rows) does not hold paging back
	press(m, "g")    // to the oldest shown, which asks for the matches before it
	q := fs.queries[len(fs.queries)-1]
	if q.BeforeSeq != first || !q.Newest || q.Limit != filterLimit || !slices.Equal(q.StatusClasses, []int{5}) {
		t.Fatalf("older page query %+v, want BeforeSeq %d and the filter", q, first)
	}
	if n := m.filt.rows.len(); n != 1250 || !m.fltOlderDone {
		t.Fatalf("after g: %d rows (older done %v), want all 1250", n, m.fltOlderDone)
	}
	if s, _ := m.selected(); s.Seq != first {
		t.Errorf("the selection moved with the load: now Seq %d, want %d", s.Seq, first)
	}
	for i, s := range m.filt.rows.rows {
		if s.Status != 500 || i > 0 && s.Seq <= m.filt.rows.rows[i-1].Seq {
			t.Fatalf("row %d: %+v", i, s)
		}
	}
	if strings.Contains(m.View().Content, "more above") {
		t.Error("status line still says there is more")
	}
	nq := len(fs.queries)
	press(m, "g", "k")
	if len(fs.queries) != nq {
		t.Errorf("asked the store again with nothing older left: %+v", fs.queries[nq:])
	}
	// The main list did not page: the filter's pages are its own.
	if n := m.main.rows.len(); n != 10 {
		t.Errorf("main list has %d rows, want the history of 10", n)
	}
}

func TestQuit(t *testing.T) {
	m, fs := started(t, fixtures(), 100, 20)
	msgs := press(m, "q")
	if m.mode != modeShutdown || fs.quits != 1 || msgOfType(msgs, "tea.QuitMsg") {
		t.Fatalf("q: mode %v, Quit called %d times, msgs %v", m.mode, fs.quits, msgs)
	}
	m.Update(ShutdownMsg{Line: "Deleting endpoint 6323940a…"})
	m.Update(ShutdownMsg{Line: "Deleted endpoint 6323940a\x1b[2J"})
	view := m.View().Content
	if !strings.Contains(view, "Deleting endpoint 6323940a…") || !strings.Contains(view, `Deleted endpoint 6323940a\x1b[2J`) {
		t.Fatalf("shutdown screen:\n%s", view)
	}
	if press(m, "q"); fs.quits != 1 {
		t.Errorf("q again called Quit again")
	}
	_, cmd := m.Update(DoneMsg{})
	if cmd == nil || !reflect.DeepEqual(cmd(), tea.Quit()) {
		t.Fatalf("DoneMsg did not quit")
	}

	m2, _ := started(t, fixtures(), 100, 20)
	press(m2, "ctrl+c")
	_, cmd = m2.Update(keyMsg("ctrl+c"))
	if cmd == nil || !reflect.DeepEqual(cmd(), tea.Quit()) {
		t.Fatalf("a second ctrl-c did not quit at once")
	}

	// Without Quit there is nothing to wait for.
	m3 := newTestModel(t, Actions{}, 80, 20)
	if msgs := press(m3, "q"); !msgOfType(msgs, "tea.QuitMsg") {
		t.Fatalf("q without Quit: %v", msgs)
	}
}

func TestTunnelAndCounters(t *testing.T) {
	m, _ := started(t, nil, 100, 20)
	m.Update(TunnelMsg{State: "reconnecting", Err: "session closed\x1b]52;c;AAAA\x07"})
	view := m.View().Content
	if !strings.Contains(view, `◌ reconnecting: session closed\x1b]52;c;AAAA\x07`) {
		t.Fatalf("header:\n%s", view)
	}
	// Pending, then done: counted once. Replayed and caught-up copies of
	// the same capture do not count again.
	c := fixture(70, omega.TypeProcessSucceeded, 200)
	pending := c.Summary()
	pending.State, pending.Status, pending.CompletedAt = capture.StatePending, 0, t0
	m.Update(deliveriesMsg{rows: []capture.Summary{pending}})
	if m.counts[capture.OutcomeOK] != 0 {
		t.Fatal("a pending capture counted")
	}
	m.Update(deliveriesMsg{rows: []capture.Summary{c.Summary()}})
	m.Update(catchupMsg{rows: []capture.Summary{pending, c.Summary()}})
	m.Update(deliveriesMsg{rows: []capture.Summary{c.Summary()}})
	f := failed(fixture(71, omega.TypeProcessSucceeded, 0))
	m.Update(deliveriesMsg{rows: []capture.Summary{f.Summary()}})
	if m.counts[capture.OutcomeOK] != 1 || m.counts[capture.OutcomeFailed] != 1 {
		t.Fatalf("counts %v", m.counts)
	}
	if s, _ := m.main.rows.get(c.ID); s.State != capture.StateDone {
		t.Fatalf("a late pending copy undid the finished state")
	}
	if !strings.Contains(m.View().Content, "1 ok  0 app error  1 failed  0 rejected") {
		t.Fatalf("header:\n%s", m.View().Content)
	}
}

// A warning from outside (the store failing) stays in the header; a plain
// notice only passes through the status line.
func TestNoticeMsg(t *testing.T) {
	m := newTestModel(t, Actions{}, 120, 20)
	render := func(m *Model) string { return m.View().Content }
	m.Update(NoticeMsg{Text: "Backfill (start): delivered 2 event(s)"})
	if v := render(m); !strings.Contains(v, "Backfill (start): delivered 2 event(s)") {
		t.Fatalf("notice not shown:\n%s", v)
	}
	m.Update(NoticeMsg{Text: "captures are NOT being recorded: disk full\x1b[2J", Warn: true})
	m.Update(NoticeMsg{Text: "later news"})
	v := render(m)
	if !strings.Contains(v, "⚠ captures are NOT being recorded: disk full") || strings.Contains(v, "\x1b[2J") {
		t.Fatalf("warning not kept in the header (or not escaped):\n%s", v)
	}
}

// Before the terminal's size is known (or on a tiny one) every view still
// renders: the shutdown view once panicked there.
func TestViewsWithoutASize(t *testing.T) {
	for _, h := range []int{0, 1, 3} {
		t.Run(fmt.Sprintf("height %d", h), func(t *testing.T) {
			m := New(Options{Info: testInfo, NoColor: true, Actions: Actions{Quit: func() {}}})
			if h > 0 {
				m.Update(tea.WindowSizeMsg{Width: 40, Height: h})
			}
			_ = m.View()
			press(m, "?")
			_ = m.View()
			press(m, "esc", "q")
			for i := range 10 {
				m.Update(ShutdownMsg{Line: fmt.Sprintf("step %d", i)})
			}
			if v := m.View().Content; h == 0 && !strings.Contains(v, "step 0") {
				t.Errorf("height unknown: the shutdown view should show every step:\n%s", v)
			}
		})
	}
}
