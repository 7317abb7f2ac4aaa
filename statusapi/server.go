package statusapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/rs/zerolog"

	"github.com/dirbridge/dirbridge/config"
	"github.com/dirbridge/dirbridge/operator"
	"github.com/dirbridge/dirbridge/outbox"
)

// Server serves a Backend as the status endpoint configured in cfg.Status.
type Server struct {
	b   Backend
	cfg *config.Config
	log zerolog.Logger
}

// NewServer serves b; cfg gives the listen address, TLS, users and tokens.
func NewServer(b Backend, cfg *config.Config, log zerolog.Logger) *Server {
	return &Server{b: b, cfg: cfg, log: log.With().Str("component", "status").Logger()}
}

// Handler is the status endpoint's HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathHealth, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET "+PathStatus, s.getStatus)
	mux.Handle("GET "+PathMetrics, s.metricsHandler())
	mux.HandleFunc("GET "+PathRequests, s.listRequests)
	mux.HandleFunc("GET "+PathRequests+"/{id}", s.getRequest)
	mux.HandleFunc("POST "+PathRequests+"/{id}/{action}", func(w http.ResponseWriter, r *http.Request) {
		role := roleOperator
		if act := r.PathValue("action"); act == "approve" || act == "deny" {
			role = roleApprover
		}
		s.requireRole(role, s.actOnRequest)(w, r)
	})
	mux.HandleFunc("POST /api/v1/apps/{app}/held/{action}", s.requireRole(roleApprover, s.actOnHeld))
	mux.HandleFunc("POST /api/v1/batches/{id}/{app}/{action}", s.requireRole(roleApprover, s.actOnBatch))
	mux.HandleFunc("POST "+PathFullRead, s.requireRole(roleOperator, s.postFullRead))
	mux.HandleFunc("GET /api/v1/people/{who}", s.getPerson)
	mux.HandleFunc("GET "+PathAccounts, s.listAccounts)
	mux.HandleFunc("GET "+PathBatches, s.listBatches)
	mux.HandleFunc("GET /api/v1/preview/{who}", s.getPreview)
	mux.HandleFunc("GET /api/v1/apps/{app}/reconcile", s.getReconcile)
	mux.HandleFunc("GET /{$}", s.page)
	return s.checkHost(mux)
}

// checkHost refuses requests whose Host is not this endpoint (DNS
// rebinding: a web page must not reach the loopback API by a name it owns).
func (s *Server) checkHost(next http.Handler) http.Handler {
	listenHost, _, _ := net.SplitHostPort(s.cfg.Status.Listen)
	allowed := map[string]bool{"localhost": true, strings.ToLower(listenHost): true}
	for _, h := range s.cfg.Status.Hostnames {
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

func (s *Server) getStatus(w http.ResponseWriter, r *http.Request) {
	st, err := s.b.Status(r.Context())
	respond(w, st, err)
}

func (s *Server) listRequests(w http.ResponseWriter, r *http.Request) {
	f, err := ParseRequestsQuery(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	reqs, err := s.b.Requests(r.Context(), f)
	respond(w, RequestList{Requests: orEmpty(reqs)}, err)
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (s *Server) getRequest(w http.ResponseWriter, r *http.Request) {
	id, ok := requestID(w, r)
	if !ok {
		return
	}
	d, err := s.b.Request(r.Context(), id)
	respond(w, d, err)
}

func requestID(w http.ResponseWriter, r *http.Request) (uint64, bool) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "request id must be a number")
	}
	return id, err == nil
}

func (s *Server) actOnRequest(w http.ResponseWriter, r *http.Request) {
	id, ok := requestID(w, r)
	if !ok {
		return
	}
	req, err := s.b.Act(r.Context(), id, r.PathValue("action"), actor(r))
	respond(w, req, err)
}

func (s *Server) actOnHeld(w http.ResponseWriter, r *http.Request) {
	action := r.PathValue("action")
	if action != "approve" && action != "deny" {
		writeError(w, http.StatusConflict, fmt.Errorf("%w: %q", operator.ErrUnknownAction, action).Error())
		return
	}
	n, err := s.b.DecideHeld(r.Context(), r.PathValue("app"), action == "approve", actor(r))
	if err != nil {
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, HeldDecision{Requests: n})
}

func (s *Server) actOnBatch(w http.ResponseWriter, r *http.Request) {
	action := r.PathValue("action")
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || (action != "approve" && action != "deny") {
		writeError(w, http.StatusBadRequest, "say POST /api/v1/batches/ID/APP/approve or deny")
		return
	}
	n, err := s.b.DecideBatch(r.Context(), id, r.PathValue("app"), action == "approve", r.URL.Query()["person"], actor(r))
	if err != nil {
		respond(w, nil, err)
		return
	}
	writeJSON(w, http.StatusOK, HeldDecision{Requests: n})
}

func (s *Server) postFullRead(w http.ResponseWriter, r *http.Request) {
	accept := r.URL.Query().Get("acceptShrink") == "true"
	if err := s.b.StartFullRead(r.Context(), accept, actor(r)); err != nil {
		respond(w, nil, err)
		return
	}
	writeJSON(w, http.StatusAccepted, FullReadStarted{FullRead: "requested", AcceptShrink: accept})
}

func (s *Server) getPerson(w http.ResponseWriter, r *http.Request) {
	v, err := s.b.Person(r.Context(), r.PathValue("who"))
	respond(w, v, err)
}

func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request) {
	out, err := s.b.Accounts(r.Context(), r.URL.Query().Get("app"))
	respond(w, AccountList{Accounts: orEmpty(out)}, err)
}

func (s *Server) listBatches(w http.ResponseWriter, r *http.Request) {
	out, err := s.b.Batches(r.Context())
	respond(w, BatchList{Batches: orEmpty(out)}, err)
}

func (s *Server) getPreview(w http.ResponseWriter, r *http.Request) {
	p, err := s.b.Preview(r.Context(), r.PathValue("who"))
	respond(w, p, err)
}

func (s *Server) getReconcile(w http.ResponseWriter, r *http.Request) {
	rep, err := s.b.Reconcile(r.Context(), r.PathValue("app"))
	respond(w, rep, err)
}

// respond writes v, or err with the status that says what kind of error it
// is: not found, a state the request is not in, or our fault.
func respond(w http.ResponseWriter, v any, err error) {
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, v)
	case errors.Is(err, outbox.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, outbox.ErrIllegalTransition), errors.Is(err, operator.ErrUnknownAction):
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
	writeJSON(w, code, ErrorBody{Error: msg})
}
