// Package statusapi is the agent's status endpoint: the routes of its HTTP
// API, their JSON, who may call which (roles and tokens), the helpdesk page
// and the Prometheus metrics, all served from a Backend, which the running
// agent implements.
//
// The CLI reaches it through package statusapi/client, which builds the same
// routes from the same path functions, so the two cannot drift apart.
package statusapi

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/dirbridge/dirbridge/agent"
	"github.com/dirbridge/dirbridge/connectors"
	"github.com/dirbridge/dirbridge/operator"
	"github.com/dirbridge/dirbridge/outbox"
)

// Backend answers the API. Every method may be called concurrently, once per
// HTTP request, with that request's context; who names the authenticated
// caller for the provisioning log. Errors wrapping outbox.ErrNotFound answer
// 404, outbox.ErrIllegalTransition and operator.ErrUnknownAction 409.
type Backend interface {
	Status(ctx context.Context) (agent.Status, error)
	Requests(ctx context.Context, f outbox.Filter) ([]outbox.Request, error)
	Request(ctx context.Context, id uint64) (operator.RequestDetail, error)
	Person(ctx context.Context, who string) (operator.PersonView, error)
	Accounts(ctx context.Context, app string) ([]outbox.AppState, error)
	DisplayNames(ctx context.Context, personIDs []string) (map[string]string, error)
	// Preview and Reconcile call the directory and the app.
	Preview(ctx context.Context, who string) (agent.Preview, error)
	Reconcile(ctx context.Context, app string) (agent.ReconcileReport, error)
	Act(ctx context.Context, id uint64, action, who string) (outbox.Request, error)
	DecideHeld(ctx context.Context, app string, approve bool, who string) (int, error)
	Batches(ctx context.Context) ([]outbox.Batch, error)
	DecideBatch(ctx context.Context, id uint64, app string, approve bool, people []string, who string) (int, error)
	StartFullRead(ctx context.Context, acceptShrink bool, who string) error
}

// Routes without parameters.
const (
	PathHealth   = "/healthz"
	PathStatus   = "/api/v1/status"
	PathRequests = "/api/v1/requests"
	PathAccounts = "/api/v1/accounts"
	PathFullRead = "/api/v1/sync/full"
	PathBatches  = "/api/v1/batches"
	PathMetrics  = "/metrics"
	PathPage     = "/"
)

// AccountsPath is GET the accounts of app ("" for all).
func AccountsPath(app string) string {
	if app == "" {
		return PathAccounts
	}
	return PathAccounts + "?app=" + url.QueryEscape(app)
}

// RequestPath is GET one request with its log.
func RequestPath(id uint64) string { return PathRequests + "/" + strconv.FormatUint(id, 10) }

// ActionPath is POST an operator action on one request.
func ActionPath(id uint64, action string) string {
	return RequestPath(id) + "/" + url.PathEscape(action)
}

// HeldPath is POST the decision on an app's held batch.
func HeldPath(app string, approve bool) string {
	return "/api/v1/apps/" + url.PathEscape(app) + "/held/" + decision(approve)
}

// BatchDecisionPath is POST the decision on app's part of a held batch,
// for everyone in it or only people (logins, DNs or ids).
func BatchDecisionPath(id uint64, app string, approve bool, people []string) string {
	p := PathBatches + "/" + strconv.FormatUint(id, 10) + "/" + url.PathEscape(app) + "/" + decision(approve)
	if len(people) > 0 {
		p += "?" + url.Values{"person": people}.Encode()
	}
	return p
}

func decision(approve bool) string {
	if approve {
		return "approve"
	}
	return "deny"
}

// PersonPath is GET what happened to one person.
func PersonPath(who string) string { return "/api/v1/people/" + url.PathEscape(who) }

// PreviewPath evaluates the mapping for one person.
func PreviewPath(who string) string { return "/api/v1/preview/" + url.PathEscape(who) }

// ReconcilePath compares an app's accounts with the directory.
func ReconcilePath(app string) string { return "/api/v1/apps/" + url.PathEscape(app) + "/reconcile" }

// FullReadPath is POST a full read now.
func FullReadPath(acceptShrink bool) string {
	return PathFullRead + "?acceptShrink=" + strconv.FormatBool(acceptShrink)
}

// RequestsQuery encodes f as the query of PathRequests; ParseRequestsQuery
// reads it back.
func RequestsQuery(f outbox.Filter) url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"app": f.App, "person": f.PersonID} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	for _, s := range f.States {
		q.Add("state", string(s))
	}
	for _, o := range f.Ops {
		q.Add("op", string(o))
	}
	if f.Batch != 0 {
		q.Set("batch", strconv.FormatUint(f.Batch, 10))
	}
	return q
}

// Bounds of a request list: the page size when none is asked for, and the
// most one answer carries.
const (
	defaultListLimit = 100
	maxListLimit     = 10000
)

// ParseRequestsQuery reads a request filter from q.
func ParseRequestsQuery(q url.Values) (outbox.Filter, error) {
	f := outbox.Filter{App: q.Get("app"), PersonID: q.Get("person"), Limit: defaultListLimit}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return f, fmt.Errorf("statusapi: limit %q: want a positive number", s)
		}
		f.Limit = min(n, maxListLimit)
	}
	for _, s := range q["state"] {
		f.States = append(f.States, outbox.State(s))
	}
	for _, o := range q["op"] {
		f.Ops = append(f.Ops, connectors.Operation(o))
	}
	if b := q.Get("batch"); b != "" {
		id, err := strconv.ParseUint(b, 10, 64)
		if err != nil {
			return f, fmt.Errorf("statusapi: batch %q: want a batch number", b)
		}
		f.Batch = id
	}
	return f, nil
}

// RequestList is the answer of PathRequests.
type RequestList struct {
	Requests []outbox.Request `json:"requests"`
}

// AccountList is the answer of PathAccounts.
type AccountList struct {
	Accounts []outbox.AppState `json:"accounts"`
}

// BatchList is the answer of PathBatches: the planning batches still open
// or being settled, then the latest that held something.
type BatchList struct {
	Batches []outbox.Batch `json:"batches"`
}

// HeldDecision is the answer of HeldPath: how many requests were decided.
type HeldDecision struct {
	Requests int `json:"requests"`
}

// FullReadStarted is the answer of FullReadPath.
type FullReadStarted struct {
	FullRead     string `json:"fullRead"`
	AcceptShrink bool   `json:"acceptShrink"`
}

// ErrorBody is the JSON of every answer that is not 2xx.
type ErrorBody struct {
	Error string `json:"error"`
}
