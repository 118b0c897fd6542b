package tunnel

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"golang.ngrok.com/ngrok/v2"
)

// ngrokAgent is the part of ngrok's agent the provider drives. It exists so
// that the startup and shutdown state machine can be tested with a fake.
type ngrokAgent interface {
	// Connect blocks until the first session is up. The SDK retries
	// failures forever, reporting each through the event callback; it
	// returns early only when ctx ends. ctx also bounds the whole session.
	Connect(ctx context.Context) error
	// Listen opens the endpoint on the connected session.
	Listen(ctx context.Context) (ngrokEndpoint, error)
	// Disconnect ends the session. It may block on a dead network.
	Disconnect() error
}

// ngrokEndpoint is an open ngrok endpoint: a listener with a public URL.
type ngrokEndpoint interface {
	Accept() (net.Conn, error)
	Close() error
	URL() string
}

type agentEventKind int

const (
	agentConnected agentEventKind = iota
	agentDisconnected
	agentHeartbeat
)

// agentEvent is a session event from the agent, in our own terms.
type agentEvent struct {
	kind    agentEventKind
	err     error // agentDisconnected: why; nil means the SDK gave up for good
	latency time.Duration
	at      time.Time
}

// agentConfig is what the provider asks of a new agent.
type agentConfig struct {
	authToken     string
	domain        string // validated; "" for ngrok's choice
	description   string
	clientVersion string // semantic version, or "" to leave the SDK's own
	connectAddr   string // ngrok's server, host:port; "" for the default (tests use loopback)
	logger        *slog.Logger
	// onEvent receives session events. The SDK calls it while holding its
	// own lock, so it must return at once and never call back into the agent.
	onEvent func(agentEvent)
}

// ngrokClientType names omega-listen in ngrok's dashboard and user agent.
const ngrokClientType = "omega-listen"

// sdkAgent is an ngrokAgent on golang.ngrok.com/ngrok/v2. It is always a
// fresh agent: the SDK's package-level DefaultAgent reads NGROK_AUTHTOKEN
// on its own and is never used.
type sdkAgent struct {
	agent ngrok.Agent
	cfg   agentConfig
}

func newSDKAgent(c agentConfig) (ngrokAgent, error) {
	opts := []ngrok.AgentOption{
		ngrok.WithAuthtoken(c.authToken),
		// Connect is called explicitly, under our own deadline; Listen must
		// not start a connection of its own.
		ngrok.WithAutoConnect(false),
		// Without a logger the SDK writes some warnings to slog.Default,
		// which is the terminal.
		ngrok.WithLogger(c.logger),
		ngrok.WithEventHandler(func(e ngrok.Event) {
			if ev, ok := fromSDKEvent(e); ok {
				c.onEvent(ev)
			}
		}),
	}
	if c.clientVersion != "" {
		opts = append(opts, ngrok.WithClientInfo(ngrokClientType, c.clientVersion))
	}
	if c.description != "" {
		opts = append(opts, ngrok.WithAgentDescription(c.description))
	}
	if c.connectAddr != "" {
		opts = append(opts, ngrok.WithAgentConnectURL(c.connectAddr))
	}
	a, err := ngrok.NewAgent(opts...)
	if err != nil {
		return nil, fmt.Errorf("creating the ngrok agent: %w", err)
	}
	return &sdkAgent{agent: a, cfg: c}, nil
}

func (s *sdkAgent) Connect(ctx context.Context) error { return s.agent.Connect(ctx) }
func (s *sdkAgent) Disconnect() error                 { return s.agent.Disconnect() }

func (s *sdkAgent) Listen(ctx context.Context) (ngrokEndpoint, error) {
	var opts []ngrok.EndpointOption
	if s.cfg.domain != "" {
		opts = append(opts, ngrok.WithURL(ngrokEndpointURL(s.cfg.domain)))
	}
	if s.cfg.description != "" {
		opts = append(opts, ngrok.WithDescription(s.cfg.description))
	}
	ln, err := s.agent.Listen(ctx, opts...)
	if err != nil {
		return nil, err
	}
	return sdkEndpoint{ln}, nil
}

// ngrokEndpointURL is the endpoint URL asked of ngrok for a static domain:
// https, like the URLs ngrok picks itself.
func ngrokEndpointURL(domain string) string { return "https://" + domain }

type sdkEndpoint struct{ ngrok.EndpointListener }

func (e sdkEndpoint) URL() string { return e.EndpointListener.URL().String() }

// fromSDKEvent keeps the session events; connection-level events are
// ngrok's view of deliveries that the receiver already records itself.
func fromSDKEvent(e ngrok.Event) (agentEvent, bool) {
	at := e.Timestamp()
	if at.IsZero() {
		at = time.Now()
	}
	switch e := e.(type) {
	case *ngrok.EventAgentConnectSucceeded:
		return agentEvent{kind: agentConnected, at: at}, true
	case *ngrok.EventAgentDisconnected:
		return agentEvent{kind: agentDisconnected, err: e.Error, at: at}, true
	case *ngrok.EventAgentHeartbeatReceived:
		return agentEvent{kind: agentHeartbeat, latency: e.Latency, at: at}, true
	}
	return agentEvent{}, false
}
