// Package session is how a running listener tells the other commands about
// itself: the data dir's lock, held while it runs (one listener per data
// dir), and its session file (its receiver, endpoint, event types, and the
// emulator it lends), which trigger, wait, events and the web command read.
package session

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/omega-listen/omega-listen/capture"
)

// Info is what a running listener tells other commands about itself,
// in <data-dir>/sessions/<pid>.json (0600). It holds no API key; the webhook
// URL's token is as secret as the data dir itself.
type Info struct {
	PID         int       `json:"pid"`
	ID          string    `json:"id"`
	Started     time.Time `json:"started"`
	Host        string    `json:"host"`
	ReceiverURL string    `json:"receiver_url"` // local URL of the secret path, for trigger
	PublicURL   string    `json:"public_url"`   // what Omega was given
	EndpointID  string    `json:"endpoint_id"`
	Events      []string  `json:"events"`
	Forward     string    `json:"forward"`
	Tunnel      string    `json:"tunnel"`
	// Emulator is set with --emulate: its base URL and the throwaway key it
	// accepts, so `trigger` can ask it for a delivery.
	Emulator *EmulatorRef `json:"emulator,omitempty"`
}

type EmulatorRef struct {
	BaseURL string `json:"base_url"`
	APIKey  string `json:"api_key"`
}

func sessionsDir(dir string) string { return filepath.Join(dir, "sessions") }

func Write(dir string, si *Info) (path string, err error) {
	sd := sessionsDir(dir)
	if err := os.MkdirAll(sd, 0o700); err != nil {
		return "", fmt.Errorf("creating %s: %w", sd, err)
	}
	data, err := json.MarshalIndent(si, "", "  ")
	if err != nil {
		return "", err
	}
	path = filepath.Join(sd, fmt.Sprintf("%d.json", si.PID))
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return "", fmt.Errorf("writing session file: %w", err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return "", err
	}
	return path, os.Rename(tmp, path)
}

// Find returns the running listener's session in dir: the one
// that holds the data dir's lock. Session files without a live holder are
// removed on the way.
func Find(dir string) (*Info, error) {
	running, err := Running(dir)
	if err != nil {
		return nil, fmt.Errorf("checking for a listener in %s: %w", dir, err)
	}
	if !running {
		removeAll(dir)
		return nil, ErrNone
	}
	live, err := ReadAll(dir)
	if err != nil {
		return nil, err
	}
	if len(live) == 0 {
		// The listener has the lock but has not written its session yet.
		return nil, ErrNone
	}
	return live[0], nil
}

// ReadAll reads dir's session files, newest first.
func ReadAll(dir string) ([]*Info, error) {
	entries, err := os.ReadDir(sessionsDir(dir))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading sessions in %s: %w", dir, err)
	}
	var live []*Info
	for _, e := range entries {
		if e.IsDir() || filepath.Ext(e.Name()) != ".json" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(sessionsDir(dir), e.Name()))
		if err != nil {
			continue
		}
		var si Info
		if json.Unmarshal(data, &si) != nil || si.PID <= 0 {
			continue
		}
		live = append(live, &si)
	}
	sort.Slice(live, func(i, j int) bool { return live[i].Started.After(live[j].Started) })
	return live, nil
}

// removeAll deletes dir's session files: called only when no
// listener holds the data dir, so they are all left by ones that died.
func removeAll(dir string) {
	if !capture.FileLocks {
		return // nothing tells the living from the dead here
	}
	entries, _ := os.ReadDir(sessionsDir(dir))
	for _, e := range entries {
		if !e.IsDir() {
			_ = os.Remove(filepath.Join(sessionsDir(dir), e.Name()))
		}
	}
}

var ErrNone = errors.New("no omega-listen is running")
