package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"
)

// sessionInfo is what a running listener tells other commands about itself,
// in <data-dir>/sessions/<pid>.json (0600). It holds no API key; the webhook
// URL's token is as secret as the data dir itself.
type sessionInfo struct {
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
	Emulator *emulatorRef `json:"emulator,omitempty"`
}

type emulatorRef struct {
	BaseURL string `json:"base_url"`
	APIKey  string `json:"api_key"`
}

func sessionsDir(dir string) string { return filepath.Join(dir, "sessions") }

func writeSession(dir string, si *sessionInfo) (path string, err error) {
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

// findSession returns the newest running listener's session in dir. Files
// of dead processes are removed on the way.
func findSession(dir string) (*sessionInfo, error) {
	entries, err := os.ReadDir(sessionsDir(dir))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading sessions in %s: %w", dir, err)
	}
	var live []*sessionInfo
	for _, e := range entries {
		if e.IsDir() || filepath.Ext(e.Name()) != ".json" {
			continue
		}
		p := filepath.Join(sessionsDir(dir), e.Name())
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var si sessionInfo
		if json.Unmarshal(data, &si) != nil || si.PID <= 0 {
			continue
		}
		if !processAlive(si.PID) {
			_ = os.Remove(p)
			continue
		}
		live = append(live, &si)
	}
	if len(live) == 0 {
		return nil, errNoSession
	}
	sort.Slice(live, func(i, j int) bool { return live[i].Started.After(live[j].Started) })
	return live[0], nil
}

var errNoSession = errors.New("no omega-listen is running")

func processAlive(pid int) bool {
	if pid == os.Getpid() {
		return true
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
