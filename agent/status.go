package agent

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dirbridge/dirbridge/config"
	"github.com/dirbridge/dirbridge/connectors"
	"github.com/dirbridge/dirbridge/outbox"
)

// Version is set by cmd/dirbridge at build time.
var Version = "dev"

// Status is the JSON of /api/v1/status.
type Status struct {
	Version string               `json:"version"`
	Healthy bool                 `json:"healthy"`
	Sync    SyncStatus           `json:"sync"`
	Mapping MappingStatus        `json:"mapping"`
	Apps    map[string]AppStatus `json:"apps"`
}

// AppStatus is one app's part of the status.
type AppStatus struct {
	AppHealth
	Requests map[outbox.State]int `json:"requests"`
	Held     int                  `json:"heldForApproval"`
}

// CurrentStatus assembles the status.
func (a *Agent) CurrentStatus() (Status, error) {
	s := Status{Version: Version, Sync: a.status.get(), Mapping: a.maps.Status(), Apps: map[string]AppStatus{}}
	err := a.store.View(func(tx *outbox.Tx) error {
		for name, r := range a.apps {
			counts := tx.Counts(name)
			s.Apps[name] = AppStatus{AppHealth: r.health(), Requests: counts, Held: counts[outbox.StateAwaitingApproval]}
		}
		return nil
	})
	s.Healthy = s.Sync.LastError == "" && s.Sync.FullReadError == "" && s.Mapping.Error == ""
	return s, err
}

func (a *Agent) serveStatus(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.cfg.Status.Listen)
	if err != nil {
		return fmt.Errorf("status endpoint: %w", err)
	}
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	cert, key := a.cfg.Resolve(a.cfg.Status.TLSCert), a.cfg.Resolve(a.cfg.Status.TLSKey)
	scheme, serve := "http", func() error { return srv.Serve(ln) }
	if cert != "" && key != "" {
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		scheme, serve = "https", func() error { return srv.ServeTLS(ln, cert, key) }
	}
	a.log.Info().Str("url", scheme+"://"+ln.Addr().String()+"/").Msg("status endpoint listening")
	if err := serve(); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("status endpoint: %w", err)
	}
	return nil
}

// Handler is the status endpoint's HTTP handler.
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /api/v1/status", a.getStatus)
	mux.Handle("GET /metrics", a.metricsHandler())
	mux.HandleFunc("GET /api/v1/requests", a.listRequests)
	mux.HandleFunc("GET /api/v1/requests/{id}", a.getRequest)
	mux.HandleFunc("POST /api/v1/requests/{id}/{action}", func(w http.ResponseWriter, r *http.Request) {
		role := roleOperator
		if act := r.PathValue("action"); act == "approve" || act == "deny" {
			role = roleApprover
		}
		a.requireRole(role, a.actOnRequest)(w, r)
	})
	mux.HandleFunc("POST /api/v1/apps/{app}/held/{action}", a.requireRole(roleApprover, a.actOnHeld))
	mux.HandleFunc("POST /api/v1/sync/full", a.requireRole(roleOperator, a.postFullRead))
	mux.HandleFunc("GET /api/v1/people/{who}", a.getPerson)
	mux.HandleFunc("GET /api/v1/accounts", a.listAccounts)
	mux.HandleFunc("GET /api/v1/preview/{who}", a.getPreview)
	mux.HandleFunc("GET /api/v1/apps/{app}/reconcile", func(w http.ResponseWriter, r *http.Request) {
		rep, err := a.Reconcile(r.Context(), r.PathValue("app"))
		respond(w, rep, err)
	})
	mux.HandleFunc("GET /{$}", a.page)
	return a.checkHost(mux)
}

// checkHost refuses requests whose Host is not this endpoint (DNS
// rebinding: a web page must not reach the loopback API by a name it owns).
func (a *Agent) checkHost(next http.Handler) http.Handler {
	listenHost, _, _ := net.SplitHostPort(a.cfg.Status.Listen)
	allowed := map[string]bool{"localhost": true, strings.ToLower(listenHost): true}
	for _, h := range a.cfg.Status.Hostnames {
		allowed[strings.ToLower(h)] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.ToLower(strings.Trim(host, "[]"))
		switch {
		case allowed[host], net.ParseIP(host) != nil && net.ParseIP(host).IsLoopback():
			next.ServeHTTP(w, r)
		default:
			http.Error(w, "unexpected Host header", http.StatusMisdirectedRequest)
		}
	})
}

// Roles of the status API. Reading needs none (loopback, helpdesk page);
// acting needs a bearer token, which browsers never attach on their own, so
// a forged cross-site form cannot act (CSRF).
const (
	roleOperator = "operator" // retry, cancel, complete by hand, full read
	roleApprover = "approver" // also approve and deny
)

type actorKey struct{}

// requireRole lets through requests whose bearer token belongs to a user
// with the role (an approver may do what an operator may), and records who
// it is for the provisioning log.
func (a *Agent) requireRole(role string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		users, err := a.statusUsers()
		if err != nil {
			writeError(w, http.StatusForbidden, err.Error())
			return
		}
		got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		for _, u := range users {
			if subtle.ConstantTimeCompare([]byte(got), []byte(u.Token.Reveal())) != 1 {
				continue
			}
			if role == roleApprover && u.Role != roleApprover {
				writeError(w, http.StatusForbidden, u.Name+" is an operator; approving and denying needs an approver")
				return
			}
			next(w, r.WithContext(context.WithValue(r.Context(), actorKey{}, u.Name)))
			return
		}
		writeError(w, http.StatusUnauthorized, "a valid bearer token is required for this action")
	}
}

// statusUsers are the configured users plus the holder of status.tokenFile.
func (a *Agent) statusUsers() ([]config.StatusUser, error) {
	users := append([]config.StatusUser(nil), a.cfg.Status.Users...)
	if a.cfg.Status.TokenFile != "" {
		b, err := os.ReadFile(a.cfg.Resolve(a.cfg.Status.TokenFile))
		if err != nil {
			return nil, fmt.Errorf("actions are disabled: cannot read status.tokenFile: %w", err)
		}
		tok := strings.TrimSpace(string(b))
		if len(tok) < 16 {
			return nil, errors.New("actions are disabled: the status token must be at least 16 characters")
		}
		users = append(users, config.StatusUser{Name: "token-file", Role: roleApprover, Token: config.NewSecret(tok)})
	}
	if len(users) == 0 {
		return nil, errors.New("actions are disabled: set status.users or status.tokenFile in the agent config")
	}
	return users, nil
}

// actor names who acted, for the provisioning log: the authenticated user,
// and whom a tool acted for when it says so (X-Dirbridge-Actor).
func actor(r *http.Request) string {
	who, _ := r.Context().Value(actorKey{}).(string)
	if onBehalf := strings.TrimSpace(r.Header.Get("X-Dirbridge-Actor")); onBehalf != "" && onBehalf != who {
		who += " for " + onBehalf
	}
	return who + " (status API from " + r.RemoteAddr + ")"
}

func (a *Agent) getStatus(w http.ResponseWriter, r *http.Request) {
	s, err := a.CurrentStatus()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, s)
}

func (a *Agent) listRequests(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := outbox.Filter{App: q.Get("app"), PersonID: q.Get("person"), Limit: 100}
	if n, err := strconv.Atoi(q.Get("limit")); err == nil && n > 0 {
		f.Limit = min(n, 10000)
	}
	for _, s := range q["state"] {
		f.States = append(f.States, outbox.State(s))
	}
	for _, o := range q["op"] {
		f.Ops = append(f.Ops, connectors.Operation(o))
	}
	var out []outbox.Request
	err := a.store.View(func(tx *outbox.Tx) error {
		var err error
		out, err = tx.ListRequests(f)
		return err
	})
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"requests": orEmpty(out)})
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// RequestDetail is a request with its provisioning log.
type RequestDetail struct {
	Request outbox.Request    `json:"request"`
	Log     []outbox.LogEntry `json:"log"`
}

func (a *Agent) getRequest(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "request id must be a number")
		return
	}
	d, err := RequestWithLog(a.store, id)
	respond(w, d, err)
}

// RequestWithLog reads a request and its log entries.
func RequestWithLog(s *outbox.Store, id uint64) (RequestDetail, error) {
	var d RequestDetail
	err := s.View(func(tx *outbox.Tx) error {
		var err error
		if d.Request, err = tx.Request(id); err != nil {
			return err
		}
		d.Log, err = tx.RequestLog(d.Request)
		return err
	})
	return d, err
}

func (a *Agent) actOnRequest(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "request id must be a number")
		return
	}
	req, err := Act(r.Context(), a.store, id, r.PathValue("action"), actor(r))
	if err == nil {
		a.log.Info().Uint64("request", id).Str("action", r.PathValue("action")).Str("actor", actor(r)).Msg("operator action")
		a.poke()
	}
	respond(w, req, err)
}

var errUnknownAction = errors.New("unknown action (want retry, approve, deny, cancel or complete)")

// Act applies an operator action to a request: retry, approve, deny,
// cancel or complete (done by hand). Shared by the API and the CLI.
func Act(ctx context.Context, s *outbox.Store, id uint64, action, who string) (outbox.Request, error) {
	var out outbox.Request
	err := s.Update(ctx, func(tx *outbox.Tx) error {
		var err error
		switch action {
		case "retry":
			out, err = tx.Retry(id, who)
		case "approve":
			out, err = tx.Approve(id, who)
		case "deny":
			out, err = tx.Deny(id, who)
		case "cancel":
			out, err = tx.Cancel(id, who)
		case "complete":
			out, err = tx.MarkCompleted(id, who)
		default:
			err = fmt.Errorf("%w: %q", errUnknownAction, action)
		}
		return err
	})
	return out, err
}

func (a *Agent) actOnHeld(w http.ResponseWriter, r *http.Request) {
	app, action := r.PathValue("app"), r.PathValue("action")
	var n int
	err := a.store.Update(r.Context(), func(tx *outbox.Tx) error {
		var err error
		switch action {
		case "approve":
			n, err = tx.ApproveHeld(app, actor(r))
		case "deny":
			n, err = tx.DenyHeld(app, actor(r))
		default:
			err = fmt.Errorf("%w: %q", errUnknownAction, action)
		}
		return err
	})
	if err != nil {
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	a.log.Info().Str("app", app).Str("action", action).Int("requests", n).Str("actor", actor(r)).Msg("held batch decided")
	a.poke()
	writeJSON(w, http.StatusOK, map[string]int{"requests": n})
}

// PersonView answers "what happened to this person": the snapshot, each
// app's desired/planned/confirmed state and link, and every request.
type PersonView struct {
	Person   outbox.Snapshot            `json:"person"`
	Groups   []string                   `json:"groups"`
	Apps     map[string]outbox.AppState `json:"apps"`
	Requests []outbox.Request           `json:"requests"`
}

func (a *Agent) getPerson(w http.ResponseWriter, r *http.Request) {
	v, err := LookupPerson(a.store, r.PathValue("who"))
	respond(w, v, err)
}

// loginAttributes are tried, in order, when a person is looked up by name.
var loginAttributes = []string{"samaccountname", "uid", "userprincipalname", "mail"}

// LookupPerson finds a person by id, DN or login name and gathers their
// state in every app.
func LookupPerson(s *outbox.Store, who string) (PersonView, error) {
	v := PersonView{Apps: map[string]outbox.AppState{}}
	err := s.View(func(tx *outbox.Tx) error {
		id, err := findPerson(tx, who)
		if err != nil {
			return err
		}
		v.Person, _, _ = tx.Person(id)
		groups, err := tx.MemberGroups(id, true)
		if err != nil {
			return err
		}
		for _, g := range groups { // DNs read better than ids on a helpdesk screen
			if info, ok, _ := tx.Group(g); ok {
				g = info.DN
			}
			v.Groups = append(v.Groups, g)
		}
		if err := tx.States("", func(st outbox.AppState) error {
			if st.PersonID == id {
				v.Apps[st.App] = st
			}
			return nil
		}); err != nil {
			return err
		}
		for app := range v.Apps {
			reqs, err := tx.ListRequests(outbox.Filter{App: app, PersonID: id})
			if err != nil {
				return err
			}
			v.Requests = append(v.Requests, reqs...)
		}
		sort.Slice(v.Requests, func(i, j int) bool { return v.Requests[i].ID > v.Requests[j].ID })
		return nil
	})
	return v, err
}

func findPerson(tx *outbox.Tx, who string) (string, error) {
	if _, ok, err := tx.Person(who); err != nil || ok {
		return who, err
	}
	if id, ok := tx.IDByDN(who); ok {
		return id, nil
	}
	found := ""
	err := tx.People(func(s outbox.Snapshot) error {
		for _, attr := range loginAttributes {
			for _, v := range s.Attributes[attr] {
				if found == "" && strings.EqualFold(v, who) {
					found = s.ID
				}
			}
		}
		return nil
	})
	if err == nil && found == "" {
		err = fmt.Errorf("%w: no person with id, DN or login %q", outbox.ErrNotFound, who)
	}
	return found, err
}

func (a *Agent) postFullRead(w http.ResponseWriter, r *http.Request) {
	accept := r.URL.Query().Get("acceptShrink") == "true"
	a.log.Info().Bool("acceptShrink", accept).Str("actor", actor(r)).Msg("full read requested")
	a.RequestFullRead(accept)
	writeJSON(w, http.StatusAccepted, map[string]any{"fullRead": "requested", "acceptShrink": accept})
}

func (a *Agent) getPreview(w http.ResponseWriter, r *http.Request) {
	p, err := a.Preview(r.Context(), r.PathValue("who"))
	respond(w, p, err)
}

func (a *Agent) listAccounts(w http.ResponseWriter, r *http.Request) {
	out, err := Accounts(a.store, r.URL.Query().Get("app"))
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"accounts": orEmpty(out)})
}

// Accounts returns the per (app, person) records of app ("" for all),
// the basis of `dirbridge accounts`.
func Accounts(s *outbox.Store, app string) ([]outbox.AppState, error) {
	out := []outbox.AppState{}
	err := s.View(func(tx *outbox.Tx) error {
		return tx.States(app, func(st outbox.AppState) error {
			out = append(out, st)
			return nil
		})
	})
	return out, err
}

// respond writes v, or err with the status that says what kind of error it
// is: not found, a state the request is not in, or our fault.
func respond(w http.ResponseWriter, v any, err error) {
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, v)
	case errors.Is(err, outbox.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, outbox.ErrIllegalTransition), errors.Is(err, errUnknownAction):
		writeError(w, http.StatusConflict, err.Error())
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
