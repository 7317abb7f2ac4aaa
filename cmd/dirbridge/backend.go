package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/dirbridge/dirbridge/agent"
	"github.com/dirbridge/dirbridge/config"
	"github.com/dirbridge/dirbridge/operator"
	"github.com/dirbridge/dirbridge/outbox"
	"github.com/dirbridge/dirbridge/statusapi"
	"github.com/dirbridge/dirbridge/statusapi/client"
)

// backend answers the operator commands: the running agent through its
// status API (*client.Client), or, when it is stopped, its state file opened
// here (*agent.Agent). Both answer from package operator, so the commands
// print the same either way.
type backend interface {
	Requests(ctx context.Context, f outbox.Filter) ([]outbox.Request, error)
	Request(ctx context.Context, id uint64) (operator.RequestDetail, error)
	Act(ctx context.Context, id uint64, action, who string) (outbox.Request, error)
	DecideHeld(ctx context.Context, app string, approve bool, who string) (int, error)
	Batches(ctx context.Context) ([]outbox.Batch, error)
	DecideBatch(ctx context.Context, id uint64, app string, approve bool, people []string, who string) (int, error)
	Person(ctx context.Context, who string) (operator.PersonView, error)
	Accounts(ctx context.Context, app string) ([]outbox.AppState, error)
	Preview(ctx context.Context, who string) (agent.Preview, error)
	Reconcile(ctx context.Context, app string) (agent.ReconcileReport, error)
	Close() error
}

var (
	_ backend           = (*client.Client)(nil)
	_ backend           = (*agent.Agent)(nil)
	_ statusapi.Backend = (*agent.Agent)(nil)
)

// healthTimeout bounds the check whether an agent is running.
const healthTimeout = 2 * time.Second

// backend is the one place that decides where an operator command goes: to
// the running agent when it answers, else to the state file, opened with
// local (Config is filled in). The agent holds the state file while it runs,
// so the two cannot both be in use.
func (g *globals) backend(ctx context.Context, local agent.Options) (backend, error) {
	cfg, err := g.loadConfig()
	if err != nil {
		return nil, err
	}
	api := agentClient(cfg)
	hctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	if api.Health(hctx) == nil {
		return api, nil
	}
	local.Config = cfg
	a, err := agent.New(local)
	if errors.Is(err, outbox.ErrLocked) {
		return nil, fmt.Errorf("the agent holds the state file but its status endpoint %s does not answer: %w", cfg.Status.Listen, err)
	}
	return a, err
}

// readOnly is how the operator commands open a stopped agent's state file:
// no connectors, no log.
func readOnly() agent.Options { return agent.Options{Logger: zerolog.Nop(), NoConnectors: true} }

// agentClient reaches the agent's status API as the agent serves it (see
// agentURL), trusting its configured certificate when it has one.
func agentClient(cfg *config.Config) *client.Client {
	hc := &http.Client{Timeout: 30 * time.Second}
	if cfg.Status.TLSCert != "" {
		roots, err := x509.SystemCertPool()
		if err != nil {
			roots = x509.NewCertPool()
		}
		if pem, err := os.ReadFile(cfg.Resolve(cfg.Status.TLSCert)); err == nil {
			roots.AppendCertsFromPEM(pem) // a self-signed status certificate
		}
		hc.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}
	}
	return client.New(agentURL(cfg.Status), hc, func() (string, error) { return statusToken(cfg) })
}

// agentURL is over TLS with the configured certificate (and its first
// hostname) when it has one, and at a loopback address when the agent
// listens on every interface.
func agentURL(st config.Status) string {
	host, port, _ := net.SplitHostPort(st.Listen)
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	scheme := "http"
	if st.TLSCert != "" {
		scheme = "https"
		if len(st.Hostnames) > 0 {
			host = st.Hostnames[0]
		}
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// statusToken is $DIRBRIDGE_TOKEN (a status.users token) or the tokenFile's.
func statusToken(cfg *config.Config) (string, error) {
	if t := os.Getenv("DIRBRIDGE_TOKEN"); t != "" {
		return t, nil
	}
	if cfg.Status.TokenFile == "" {
		return "", errors.New("set DIRBRIDGE_TOKEN to your status.users token (status.tokenFile is not set)")
	}
	b, err := os.ReadFile(cfg.Resolve(cfg.Status.TokenFile))
	if err != nil {
		return "", fmt.Errorf("reading the status token: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// runAgent runs the agent and its status endpoint until ctx ends.
func runAgent(ctx context.Context, a *agent.Agent, cfg *config.Config, log zerolog.Logger) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.Run(ctx) })
	g.Go(func() error { return statusapi.NewServer(a, cfg, log).Serve(ctx) })
	return g.Wait()
}
