package listen

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"time"
)

// systemClipboard returns the screen's Copy action: a local clipboard
// program when this machine has a clipboard the user sits at, else nil
// (the screen then uses OSC 52 and says it cannot confirm it). Over SSH
// the clipboard that matters is on the other side, so OSC 52 it is.
func systemClipboard(getenv func(string) string, goos string) func(string) (string, error) {
	if getenv("SSH_CONNECTION") != "" || getenv("SSH_TTY") != "" {
		return nil
	}
	var candidates [][]string
	switch goos {
	case "darwin":
		candidates = [][]string{{"pbcopy"}}
	case "windows":
		candidates = [][]string{{"clip.exe"}}
	default:
		if getenv("WAYLAND_DISPLAY") != "" {
			candidates = append(candidates, []string{"wl-copy"})
		}
		if getenv("DISPLAY") != "" {
			candidates = append(candidates, []string{"xclip", "-selection", "clipboard"}, []string{"xsel", "--clipboard", "--input"})
		}
	}
	for _, c := range candidates {
		if path, err := exec.LookPath(c[0]); err == nil {
			args, name := c[1:], c[0]
			return func(text string) (string, error) {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				cmd := exec.CommandContext(ctx, path, args...)
				cmd.Stdin = strings.NewReader(text)
				if out, err := cmd.CombinedOutput(); err != nil {
					return "", errors.New(name + ": " + strings.TrimSpace(string(out)))
				}
				return name, nil
			}
		}
	}
	return nil
}
