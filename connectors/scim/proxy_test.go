package scim

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/dirbridge/dirbridge/connectors"
)

// recordingProxy sits in front of the real server: it records every
// request and lets a test answer some itself (to stage a race the real
// server will not produce on demand).
type recordingProxy struct {
	mu        sync.Mutex
	requests  []string // "METHOD /path?query"
	intercept func(w http.ResponseWriter, r *http.Request) bool
}

func (s *realServer) proxy(p *recordingProxy) string {
	s.t.Helper()
	target, _ := url.Parse(s.url)
	origin := &url.URL{Scheme: target.Scheme, Host: target.Host}
	rp := httputil.NewSingleHostReverseProxy(origin)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.requests = append(p.requests, r.Method+" "+strings.TrimPrefix(r.URL.RequestURI(), target.Path))
		icpt := p.intercept
		p.mu.Unlock()
		if icpt != nil && icpt(w, r) {
			return
		}
		rp.ServeHTTP(w, r)
	}))
	s.t.Cleanup(ts.Close)
	return ts.URL + target.Path
}

func (p *recordingProxy) count(prefix string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, r := range p.requests {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

func (s *realServer) connectorVia(p *recordingProxy, cfg Config) *Connector {
	s.t.Helper()
	c := s.connector(cfg)
	cfg.BaseURL = s.proxy(p)
	cfg.Auth = AuthConfig{BearerToken: secret(s.token)}
	pc, err := New(cfg, c.log)
	if err != nil {
		s.t.Fatal(err)
	}
	return pc
}

// The race of RFC 7644 section 3.3: the lookup finds nothing, then the
// POST meets a 409 because the account appeared in between (an earlier
// attempt of ours that timed out, an admin). The connector looks up again
// and links it instead of failing or duplicating.
func TestIntegrationCreate409LeadsToLookupAndLink(t *testing.T) {
	srv := newRealServer(t)
	p := &recordingProxy{}
	var once sync.Once
	p.intercept = func(w http.ResponseWriter, r *http.Request) bool {
		hidden := false
		if r.Method == http.MethodGet && strings.Contains(r.URL.RawQuery, "userName") {
			once.Do(func() { // the first userName lookup "misses"
				hidden = true
				w.Header().Set("Content-Type", "application/scim+json")
				_, _ = w.Write([]byte(`{"schemas":["` + listRespSchema + `"],"totalResults":0,"Resources":[]}`))
			})
		}
		return hidden
	}
	c := srv.connectorVia(p, Config{})
	seeded := srv.seed(resource{"userName": "alice@corp.example",
		"emails": []any{map[string]any{"type": "work", "value": "alice@corp.example"}}})
	acct := mustApply(t, c, connectors.Request{Op: connectors.OpCreate, Desired: alice()})
	if acct.ExternalID != seeded.id() {
		t.Fatalf("linked %q, want %q", acct.ExternalID, seeded.id())
	}
	if p.count("POST /Users") != 1 || p.count("GET /Users?filter=userName") != 2 {
		t.Errorf("requests = %v", p.requests)
	}
	wantAttrs(t, srv.user(seeded.id()), alice())
}

// Chunking is visible on the wire: 7 members in chunks of 3 are 3 PATCHes.
func TestIntegrationMemberChunksOnTheWire(t *testing.T) {
	srv := newRealServer(t)
	p := &recordingProxy{}
	c := srv.connectorVia(p, Config{Groups: GroupsConfig{MemberChunk: 3}})
	ids := seedUsers(t, c, 7)
	if err := c.AddMembers(testCtx(t), "Staff", ids); err != nil {
		t.Fatal(err)
	}
	if n := p.count("PATCH /Groups/"); n != 3 {
		t.Errorf("%d group PATCHes for 7 members in chunks of 3, want 3", n)
	}
	wantMembers(t, c, "Staff", ids...)
}
