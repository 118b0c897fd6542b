package tui

import "charm.land/bubbles/v2/key"

// KeyMap is every key the program answers to. The same bindings drive
// Update (key.Matches) and both help views, so the help cannot drift from
// what the keys do.
type KeyMap struct {
	Up, Down         key.Binding
	PageUp, PageDown key.Binding
	Top, Bottom      key.Binding
	Open, Back       key.Binding
	Replay, Edit     key.Binding
	Filter           key.Binding
	CopyBody         key.Binding
	CopyCurl         key.Binding
	Raw              key.Binding
	Trigger          key.Binding
	Help             key.Binding
	Quit             key.Binding
}

// DefaultKeyMap returns the bindings described in the README.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+b"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+f", "space"), key.WithHelp("pgdn", "page down")),
		Top:      key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g", "top")),
		Bottom:   key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "bottom (follow)")),
		Open:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "details")),
		Back:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Replay:   key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "replay")),
		Edit:     key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "edit & replay")),
		Filter:   key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		CopyBody: key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "copy body")),
		CopyCurl: key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "copy curl")),
		Raw:      key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "raw/pretty body")),
		Trigger:  key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "send a sample event")),
		Help:     key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:     key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	}
}

// listHelp is the help for the list view.
type listHelp struct{ k *KeyMap }

func (h listHelp) ShortHelp() []key.Binding {
	k := h.k
	return []key.Binding{k.Open, k.Replay, k.Filter, k.Trigger, k.Help, k.Quit}
}

func (h listHelp) FullHelp() [][]key.Binding {
	k := h.k
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.Open, k.Back, k.Raw, k.Filter, k.Help, k.Quit},
		{k.Replay, k.Edit, k.CopyBody, k.CopyCurl, k.Trigger},
	}
}

// detailHelp is the help for the detail view.
type detailHelp struct{ k *KeyMap }

func (h detailHelp) ShortHelp() []key.Binding {
	k := h.k
	return []key.Binding{k.Back, k.Raw, k.Replay, k.Edit, k.CopyBody, k.CopyCurl, k.Help}
}

func (h detailHelp) FullHelp() [][]key.Binding { return listHelp(h).FullHelp() }
