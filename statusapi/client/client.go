// Package client is a context-first client of the running agent's status
// API (package statusapi), what the CLI uses while the agent holds the state
// file. Every route is built from statusapi's path functions.
package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/dirbridge/dirbridge/agent"
	"github.com/dirbridge/dirbridge/operator"
	"github.com/dirbridge/dirbridge/outbox"
	"github.com/dirbridge/dirbridge/statusapi"
)

// maxAnswer bounds what is read of one answer: a request list at its
// 10000-request limit with logs stays well below it.
const maxAnswer = 64 << 20

// TokenSource gives the bearer token to present for actions. It is called
// only when an action is sent, so reads work without one.
type TokenSource func() (string, error)

// Client talks to one agent. It is safe for concurrent use.
type Client struct {
	base  string
	http  *http.Client
	token TokenSource
}

// New talks to the agent at base (scheme://host:port) through hc, which
// decides the channel (TLS roots, a Unix socket dialer); token may be nil
// when the channel itself authenticates the caller.
func New(base string, hc *http.Client, token TokenSource) *Client {
	return &Client{base: strings.TrimSuffix(base, "/"), http: hc, token: token}
}

// Error is an answer that is not 2xx. It wraps outbox.ErrNotFound for 404
// and outbox.ErrIllegalTransition for 409, so callers test errors the same
// way against the API and against the state file.
type Error struct {
	StatusCode int
	Message    string
}

func (e *Error) Error() string {
	return fmt.Sprintf("agent answered %d %s: %s", e.StatusCode, http.StatusText(e.StatusCode), e.Message)
}

func (e *Error) Unwrap() error {
	switch e.StatusCode {
	case http.StatusNotFound:
		return outbox.ErrNotFound
	case http.StatusConflict:
		return outbox.ErrIllegalTransition
	}
	return nil
}

// Close releases nothing; it lets a Client stand where a closable backend is
// expected.
func (c *Client) Close() error { return nil }

// Health returns nil when the agent answers its health check.
func (c *Client) Health(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+statusapi.PathHealth, nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("status client: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &Error{StatusCode: resp.StatusCode, Message: "health check failed"}
	}
	return nil
}

func (c *Client) get(ctx context.Context, path string, v any) error {
	return c.do(ctx, http.MethodGet, path, "", false, v)
}

// act sends an action with the bearer token and on whose behalf (who).
func (c *Client) act(ctx context.Context, path, who string, v any) error {
	return c.do(ctx, http.MethodPost, path, who, true, v)
}

func (c *Client) do(ctx context.Context, method, path, who string, auth bool, v any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, http.NoBody)
	if err != nil {
		return fmt.Errorf("status client: %w", err)
	}
	if auth {
		if err := c.authorize(req, who); err != nil {
			return err
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("status client: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("status client: reading the answer: %w", err)
	}
	if resp.StatusCode >= 300 {
		return answerError(resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("status client: decoding the answer of %s: %w", path, err)
	}
	return nil
}

func (c *Client) authorize(req *http.Request, who string) error {
	if who != "" {
		req.Header.Set("X-Dirbridge-Actor", who)
	}
	if c.token == nil {
		return nil
	}
	tok, err := c.token()
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return nil
}

func answerError(code int, body []byte) error {
	var e statusapi.ErrorBody
	_ = json.Unmarshal(body, &e)
	if e.Error == "" {
		e.Error = strings.TrimSpace(string(body[:min(len(body), 1024)]))
	}
	return &Error{StatusCode: code, Message: e.Error}
}

// Status is the agent's status.
func (c *Client) Status(ctx context.Context) (s agent.Status, err error) {
	return s, c.get(ctx, statusapi.PathStatus, &s)
}

// Requests lists the requests f selects, newest first.
func (c *Client) Requests(ctx context.Context, f outbox.Filter) ([]outbox.Request, error) {
	var out statusapi.RequestList
	err := c.get(ctx, statusapi.PathRequests+"?"+statusapi.RequestsQuery(f).Encode(), &out)
	return out.Requests, err
}

// Request is one request with its provisioning log.
func (c *Client) Request(ctx context.Context, id uint64) (d operator.RequestDetail, err error) {
	return d, c.get(ctx, statusapi.RequestPath(id), &d)
}

// Person shows what the agent knows and did for one person.
func (c *Client) Person(ctx context.Context, who string) (v operator.PersonView, err error) {
	return v, c.get(ctx, statusapi.PersonPath(who), &v)
}

// Accounts lists the per (app, person) records of app ("" for all).
func (c *Client) Accounts(ctx context.Context, app string) ([]outbox.AppState, error) {
	var out statusapi.AccountList
	err := c.get(ctx, statusapi.AccountsPath(app), &out)
	return out.Accounts, err
}

// Preview evaluates the running mapping for one person; nothing is sent.
func (c *Client) Preview(ctx context.Context, who string) (p agent.Preview, err error) {
	return p, c.get(ctx, statusapi.PreviewPath(who), &p)
}

// Reconcile compares every account of app with the directory; nothing changes.
func (c *Client) Reconcile(ctx context.Context, app string) (rep agent.ReconcileReport, err error) {
	return rep, c.get(ctx, statusapi.ReconcilePath(app), &rep)
}

// Act applies an operator action (operator.Actions) to a request.
func (c *Client) Act(ctx context.Context, id uint64, action, who string) (r outbox.Request, err error) {
	return r, c.act(ctx, statusapi.ActionPath(id, action), who, &r)
}

// DecideHeld approves or denies the whole held batch of app.
func (c *Client) DecideHeld(ctx context.Context, app string, approve bool, who string) (int, error) {
	var out statusapi.HeldDecision
	err := c.act(ctx, statusapi.HeldPath(app, approve), who, &out)
	return out.Requests, err
}

// Batches lists the open and recently held planning batches.
func (c *Client) Batches(ctx context.Context) ([]outbox.Batch, error) {
	var out statusapi.BatchList
	return out.Batches, c.get(ctx, statusapi.PathBatches, &out)
}

// DecideBatch approves or denies app's part of a held batch, or only the
// requests of people in it.
func (c *Client) DecideBatch(ctx context.Context, id uint64, app string, approve bool, people []string, who string) (int, error) {
	var out statusapi.HeldDecision
	err := c.act(ctx, statusapi.BatchDecisionPath(id, app, approve, people), who, &out)
	return out.Requests, err
}

// StartFullRead asks the agent for a full read now; it returns once the
// agent has accepted, not when the read is done.
func (c *Client) StartFullRead(ctx context.Context, acceptShrink bool, who string) error {
	var out statusapi.FullReadStarted
	return c.act(ctx, statusapi.FullReadPath(acceptShrink), who, &out)
}
