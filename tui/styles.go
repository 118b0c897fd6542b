package tui

import (
	"charm.land/bubbles/v2/help"
	"charm.land/lipgloss/v2"

	"github.com/omega-listen/omega-listen/capture"
)

// styles are every style the program renders with. They depend on the
// terminal's background, which is known only once the terminal answers
// (BackgroundColorMsg); until then the dark set is used, as most
// terminals are dark.
type styles struct {
	title    lipgloss.Style
	dim      lipgloss.Style // earlier sessions, labels, column heads
	selected lipgloss.Style // the selected row
	divider  lipgloss.Style
	key      lipgloss.Style // header labels
	value    lipgloss.Style

	outcome map[capture.Outcome]lipgloss.Style
	mark    lipgloss.Style // replay/backfill marks
	errText lipgloss.Style
	okText  lipgloss.Style
	status  lipgloss.Style // the toast line
	warn    lipgloss.Style

	tunnelUp, tunnelDown, tunnelWait lipgloss.Style

	// JSON syntax colour.
	jsonKey, jsonString, jsonNumber, jsonLiteral, jsonPunct lipgloss.Style

	help help.Styles
}

func newStyles(isDark, noColor bool) styles {
	plain := lipgloss.NewStyle()
	if noColor {
		// No ANSI at all: not even bold or reverse. The selection is shown
		// by the row marker instead.
		h := help.Styles{
			Ellipsis: plain, ShortKey: plain, ShortDesc: plain, ShortSeparator: plain,
			FullKey: plain, FullDesc: plain, FullSeparator: plain,
		}
		return styles{
			title: plain, dim: plain, selected: plain, divider: plain, key: plain, value: plain,
			outcome: map[capture.Outcome]lipgloss.Style{
				capture.OutcomePending: plain, capture.OutcomeOK: plain, capture.OutcomeAppError: plain,
				capture.OutcomeFailed: plain, capture.OutcomeRejected: plain,
			},
			mark: plain, errText: plain, okText: plain, status: plain, warn: plain,
			tunnelUp: plain, tunnelDown: plain, tunnelWait: plain,
			jsonKey: plain, jsonString: plain, jsonNumber: plain, jsonLiteral: plain, jsonPunct: plain,
			help: h,
		}
	}
	ld := lipgloss.LightDark(isDark)
	var (
		green  = ld(lipgloss.Color("#007a3d"), lipgloss.Color("#5fd787"))
		yellow = ld(lipgloss.Color("#8a6100"), lipgloss.Color("#e5c07b"))
		red    = ld(lipgloss.Color("#c0262d"), lipgloss.Color("#ff6b6b"))
		purple = ld(lipgloss.Color("#7b3fb5"), lipgloss.Color("#c79bf2"))
		blue   = ld(lipgloss.Color("#1f5fbf"), lipgloss.Color("#79b8ff"))
		cyan   = ld(lipgloss.Color("#00727a"), lipgloss.Color("#56d4dd"))
		grey   = ld(lipgloss.Color("#6b6b6b"), lipgloss.Color("#8a8a8a"))
		selBg  = ld(lipgloss.Color("#dde4f0"), lipgloss.Color("#2b3245"))
	)
	return styles{
		title:    plain.Bold(true),
		dim:      plain.Foreground(grey),
		selected: plain.Background(selBg).Bold(true),
		divider:  plain.Foreground(grey),
		key:      plain.Foreground(grey),
		value:    plain,
		outcome: map[capture.Outcome]lipgloss.Style{
			capture.OutcomePending:  plain.Foreground(grey),
			capture.OutcomeOK:       plain.Foreground(green),
			capture.OutcomeAppError: plain.Foreground(yellow),
			capture.OutcomeFailed:   plain.Foreground(red),
			capture.OutcomeRejected: plain.Foreground(purple),
		},
		mark:        plain.Foreground(cyan),
		errText:     plain.Foreground(red),
		okText:      plain.Foreground(green),
		status:      plain.Foreground(blue),
		warn:        plain.Foreground(yellow),
		tunnelUp:    plain.Foreground(green),
		tunnelDown:  plain.Foreground(red),
		tunnelWait:  plain.Foreground(yellow),
		jsonKey:     plain.Foreground(blue),
		jsonString:  plain.Foreground(green),
		jsonNumber:  plain.Foreground(cyan),
		jsonLiteral: plain.Foreground(purple),
		jsonPunct:   plain.Foreground(grey),
		help:        help.DefaultStyles(isDark),
	}
}
