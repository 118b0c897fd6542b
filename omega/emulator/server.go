package emulator

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Server is an Emulator listening on a loopback (or given) address.
type Server struct {
	*Emulator
	// BaseURL is the API base to give a client, e.g.
	// "http://127.0.0.1:41234/company".
	BaseURL string
	// Addr is the address listened on, host:port.
	Addr string

	srv *http.Server
}

// Start listens on addr ("" means 127.0.0.1 on a free port) and serves a new
// Emulator there until Close.
func Start(addr string, o Options) (*Server, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("omega emulator: listen on %s: %w", addr, err)
	}
	e := New(o)
	s := &Server{
		Emulator: e,
		Addr:     ln.Addr().String(),
		srv: &http.Server{
			Handler:           e,
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(e.log.Handler(), slog.LevelWarn),
		},
	}
	s.BaseURL = "http://" + dialable(s.Addr) + "/company"
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.log.Error("omega emulator: serve stopped", "err", err)
		}
	}()
	return s, nil
}

// dialable turns a listen address on all interfaces into one a client can
// dial.
func dialable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// Close stops serving at once, dropping open connections. Deliveries in
// flight end with their own contexts.
func (s *Server) Close() error {
	err := s.srv.Close()
	if s.ownsClient {
		s.client.CloseIdleConnections()
	}
	if err != nil {
		return fmt.Errorf("omega emulator: close: %w", err)
	}
	return nil
}
