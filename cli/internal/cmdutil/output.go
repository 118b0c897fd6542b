package cmdutil

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/omega-listen/omega-listen/text"
)

// Clean makes text from outside (Omega, the network, a file) safe to show
// on a terminal: control characters, invalid UTF-8 and the characters that
// reorder or break lines are shown escaped, so a hostile value cannot move
// the cursor or recolour the screen. The screen escapes the same way.
func Clean(s string) string { return text.Sanitize(s) }

// Table prints aligned columns; every cell is cleaned.
type Table struct {
	tw *tabwriter.Writer
}

func NewTable(w io.Writer, headers ...string) *Table {
	t := &Table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	t.Row(headers...)
	return t
}

func (t *Table) Row(cells ...string) {
	for i, c := range cells {
		cells[i] = Clean(c)
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t *Table) Flush() error { return t.tw.Flush() }

// WriteJSON prints v indented, as `gh --json` does for humans and jq alike.
func WriteJSON(w io.Writer, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(EscapeC1(data), '\n'))
	return err
}

// EscapeC1 rewrites the C1 control characters (U+0080 to U+009F) in JSON
// as \u escapes. encoding/json escapes C0 but writes these raw, and some
// terminals take U+009B for CSI: JSON from outside reaches terminals too.
// In JSON text they can only occur inside strings, where the escape means
// the same character.
func EscapeC1(data []byte) []byte {
	if !bytes.Contains(data, []byte{0xc2}) {
		return data
	}
	out := make([]byte, 0, len(data)+16)
	for i := 0; i < len(data); i++ {
		if data[i] == 0xc2 && i+1 < len(data) && data[i+1] >= 0x80 && data[i+1] <= 0x9f {
			out = fmt.Appendf(out, `\u%04x`, data[i+1])
			i++
			continue
		}
		out = append(out, data[i])
	}
	return out
}

func FmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func OrDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ShortID keeps ids readable in tables.
func ShortID(id string, n int) string {
	if len(id) <= n {
		return id
	}
	return id[:n]
}

// ParseFormat reads a --format flag: text (false) or json (true).
func ParseFormat(f string) (asJSON bool, err error) {
	switch f {
	case "text":
		return false, nil
	case "json":
		return true, nil
	}
	return false, Usagef("--format %q: want text or json", f)
}

// Truncate cuts s to n bytes and marks the cut with "…".
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
