package scim

import (
	"context"
	"fmt"
	"sync"

	"github.com/dirbridge/dirbridge/connectors"
	"github.com/rs/zerolog"
)

func init() {
	connectors.Register("scim", factory)
}

func factory(env connectors.Env) (connectors.Connector, error) {
	var cfg Config
	if env.Decode == nil {
		return nil, fmt.Errorf("scim: no settings decoder")
	}
	if err := env.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("scim: settings: %w", err)
	}
	return New(cfg, env.Logger.With().Str("component", "scim").Str("app", env.App).Logger())
}

// Connector is the SCIM connector for one app. It is safe for concurrent use.
type Connector struct {
	s      settings
	client *Client
	log    zerolog.Logger

	discMu sync.Mutex
	disc   *ServiceProviderConfig // cached after the first success

	groupMu sync.Mutex
	groups  map[string]string // lower-case displayName -> SCIM id
}

var (
	_ connectors.Connector = (*Connector)(nil)
	_ connectors.Lister    = (*Connector)(nil)
	_ connectors.Prober    = (*Connector)(nil)
)

// New validates cfg and returns a connector; nothing is sent until the
// first request.
func New(cfg Config, log zerolog.Logger) (*Connector, error) {
	s, err := cfg.validate()
	if err != nil {
		return nil, fmt.Errorf("scim: %w", err)
	}
	return &Connector{s: s, client: newClient(s, log), log: log, groups: map[string]string{}}, nil
}

// Apply carries out one request (see connectors.Connector for the contract).
func (c *Connector) Apply(ctx context.Context, req connectors.Request) (connectors.Account, error) {
	switch req.Op {
	case connectors.OpCreate:
		return c.create(ctx, req)
	case connectors.OpUpdate:
		return c.update(ctx, req)
	case connectors.OpDeactivate:
		return c.deactivate(ctx, req)
	case connectors.OpActivate, connectors.OpReactivate:
		return c.activate(ctx, req)
	case connectors.OpFreeze:
		return c.freeze(ctx, req)
	case connectors.OpUnfreeze:
		return c.unfreeze(ctx, req)
	}
	return connectors.Account{}, connectors.Errorf(connectors.Permanent, "", "scim: unknown operation %q", req.Op)
}

// Probe reads the ServiceProviderConfig and one user: it proves the URL,
// the credential and read access without changing anything.
func (c *Connector) Probe(ctx context.Context) error {
	if _, err := c.Discover(ctx); err != nil {
		return err
	}
	var page listResponse
	_, err := c.client.do(ctx, exchange{method: "GET", path: "/Users",
		query: map[string][]string{"startIndex": {"1"}, "count": {"1"}}, what: "probe: list users"}, &page)
	return err
}

// Close releases idle connections.
func (c *Connector) Close() error {
	c.client.http.HTTPClient.CloseIdleConnections()
	return nil
}
