package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/dirbridge/dirbridge/agent"
	"github.com/dirbridge/dirbridge/config"
	"github.com/dirbridge/dirbridge/outbox"
)

// backend answers the operator commands. While the agent runs it holds the
// state file, so the commands go through its status API; when it is stopped
// they open the state file directly.
type backend interface {
	ListRequests(f outbox.Filter) ([]outbox.Request, error)
	Request(id uint64) (agent.RequestDetail, error)
	Act(id uint64, action, who string) (outbox.Request, error)
	Person(who string) (agent.PersonView, error)
	Accounts(app string) ([]outbox.AppState, error)
	Preview(who string) (agent.Preview, error)
	DecideHeld(app string, approve bool, who string) (int, error)
	Close() error
}

func (g *globals) backend() (backend, error) {
	cfg, err := g.loadConfig()
	if err != nil {
		return nil, err
	}
	api := newAPIBackend(cfg)
	if api.reachable() {
		return api, nil
	}
	a, err := agent.New(agent.Options{Config: cfg, Logger: zerolog.Nop(), NoConnectors: true})
	if errors.Is(err, outbox.ErrLocked) {
		return nil, fmt.Errorf("the agent holds the state file but its status endpoint %s does not answer: %w", api.base, err)
	}
	if err != nil {
		return nil, err
	}
	return &localBackend{a: a, s: a.Store()}, nil
}

// localBackend works on the state file of a stopped agent.
type localBackend struct {
	a *agent.Agent
	s *outbox.Store
}

func (l *localBackend) Close() error { return l.a.Close() }

func (l *localBackend) DecideHeld(app string, approve bool, who string) (n int, err error) {
	err = l.s.Update(context.Background(), func(tx *outbox.Tx) error {
		if approve {
			n, err = tx.ApproveHeld(app, who)
		} else {
			n, err = tx.DenyHeld(app, who)
		}
		return err
	})
	return n, err
}

func (l *localBackend) Preview(who string) (agent.Preview, error) {
	return l.a.Preview(context.Background(), who)
}

func (l *localBackend) ListRequests(f outbox.Filter) (out []outbox.Request, err error) {
	err = l.s.View(func(tx *outbox.Tx) error { out, err = tx.ListRequests(f); return err })
	return out, err
}

func (l *localBackend) Request(id uint64) (agent.RequestDetail, error) {
	return agent.RequestWithLog(l.s, id)
}

func (l *localBackend) Act(id uint64, action, who string) (outbox.Request, error) {
	return agent.Act(context.Background(), l.s, id, action, who)
}

func (l *localBackend) Person(who string) (agent.PersonView, error) {
	return agent.LookupPerson(l.s, who)
}

func (l *localBackend) Accounts(app string) ([]outbox.AppState, error) {
	return agent.Accounts(l.s, app)
}

// newAPIBackend reaches the agent's status API as the agent serves it:
// over TLS with the configured certificate (and its first hostname) when it
// has one, and at a loopback address when it listens on every interface.
func newAPIBackend(cfg *config.Config) *apiBackend {
	host, port, _ := net.SplitHostPort(cfg.Status.Listen)
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	client := &http.Client{Timeout: 30 * time.Second}
	scheme := "http"
	if cfg.Status.TLSCert != "" {
		scheme = "https"
		if len(cfg.Status.Hostnames) > 0 {
			host = cfg.Status.Hostnames[0]
		}
		roots, err := x509.SystemCertPool()
		if err != nil {
			roots = x509.NewCertPool()
		}
		if pem, err := os.ReadFile(cfg.Resolve(cfg.Status.TLSCert)); err == nil {
			roots.AppendCertsFromPEM(pem) // a self-signed status certificate
		}
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}
	}
	return &apiBackend{base: scheme + "://" + net.JoinHostPort(host, port), cfg: cfg, http: client}
}

type apiBackend struct {
	base string
	cfg  *config.Config
	http *http.Client
}

func (a *apiBackend) Close() error { return nil }

func (a *apiBackend) reachable() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+"/healthz", nil)
	if err != nil {
		return false
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (a *apiBackend) get(path string, v any) error { return a.do(http.MethodGet, path, "", v) }

func (a *apiBackend) do(method, path, who string, v any) error {
	req, err := http.NewRequest(method, a.base+path, nil)
	if err != nil {
		return err
	}
	if method != http.MethodGet {
		tok, err := a.token()
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("X-Dirbridge-Actor", who)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct{ Error string }
		_ = json.Unmarshal(body, &e)
		if e.Error == "" {
			e.Error = strings.TrimSpace(string(body))
		}
		return fmt.Errorf("agent answered %s: %s", resp.Status, e.Error)
	}
	return json.Unmarshal(body, v)
}

// token is $DIRBRIDGE_TOKEN (a status.users token) or the tokenFile's.
func (a *apiBackend) token() (string, error) {
	if t := os.Getenv("DIRBRIDGE_TOKEN"); t != "" {
		return t, nil
	}
	if a.cfg.Status.TokenFile == "" {
		return "", errors.New("set DIRBRIDGE_TOKEN to your status.users token (status.tokenFile is not set)")
	}
	b, err := os.ReadFile(a.cfg.Resolve(a.cfg.Status.TokenFile))
	if err != nil {
		return "", fmt.Errorf("reading the status token: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

func (a *apiBackend) ListRequests(f outbox.Filter) ([]outbox.Request, error) {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("app", f.App)
	set("person", f.PersonID)
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	for _, s := range f.States {
		q.Add("state", string(s))
	}
	var out struct{ Requests []outbox.Request }
	return out.Requests, a.get("/api/v1/requests?"+q.Encode(), &out)
}

func (a *apiBackend) Request(id uint64) (d agent.RequestDetail, err error) {
	return d, a.get(fmt.Sprintf("/api/v1/requests/%d", id), &d)
}

func (a *apiBackend) Act(id uint64, action, who string) (r outbox.Request, err error) {
	return r, a.do(http.MethodPost, fmt.Sprintf("/api/v1/requests/%d/%s", id, url.PathEscape(action)), who, &r)
}

func (a *apiBackend) Person(who string) (v agent.PersonView, err error) {
	return v, a.get("/api/v1/people/"+url.PathEscape(who), &v)
}

func (a *apiBackend) DecideHeld(app string, approve bool, who string) (int, error) {
	action := "deny"
	if approve {
		action = "approve"
	}
	var out struct{ Requests int }
	err := a.do(http.MethodPost, "/api/v1/apps/"+url.PathEscape(app)+"/held/"+action, who, &out)
	return out.Requests, err
}

func (a *apiBackend) Preview(who string) (p agent.Preview, err error) {
	return p, a.get("/api/v1/preview/"+url.PathEscape(who), &p)
}

func (a *apiBackend) Accounts(app string) ([]outbox.AppState, error) {
	var out struct{ Accounts []outbox.AppState }
	return out.Accounts, a.get("/api/v1/accounts?app="+url.QueryEscape(app), &out)
}
