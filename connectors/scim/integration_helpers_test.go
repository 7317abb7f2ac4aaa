package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dirbridge/dirbridge/config"
	"github.com/dirbridge/dirbridge/connectors"
	"github.com/dirbridge/dirbridge/internal/testenv"
	"github.com/rs/zerolog"
)

// realServer is the Better Auth SCIM server started by
// scripts/testenv/scim-server.sh, emptied before the test.
type realServer struct {
	t     *testing.T
	url   string
	token string
}

func newRealServer(t *testing.T) *realServer {
	t.Helper()
	env := testenv.Require(t, "SCIM server", "DIRBRIDGE_SCIM_URL", "DIRBRIDGE_SCIM_TOKEN")
	s := &realServer{t: t, url: env["DIRBRIDGE_SCIM_URL"], token: env["DIRBRIDGE_SCIM_TOKEN"]}
	u, err := url.Parse(s.url)
	if err != nil {
		t.Fatalf("DIRBRIDGE_SCIM_URL: %v", err)
	}
	if h := u.Hostname(); h != "127.0.0.1" && h != "localhost" && h != "::1" {
		t.Fatalf("DIRBRIDGE_SCIM_URL %q is not loopback; tests talk to loopback only", s.url)
	}
	u.Path = "/__reset"
	if code := s.send(http.MethodPost, u.String(), nil, nil); code != http.StatusNoContent {
		t.Fatalf("reset SCIM server: HTTP %d", code)
	}
	return s
}

// connector returns a connector for the server with cfg's other settings.
func (s *realServer) connector(cfg Config) *Connector {
	s.t.Helper()
	cfg.BaseURL = s.url
	cfg.Auth = AuthConfig{BearerToken: config.NewSecret(s.token)}
	c, err := New(cfg, zerolog.New(zerolog.NewTestWriter(s.t)).Level(zerolog.InfoLevel))
	if err != nil {
		s.t.Fatalf("New: %v", err)
	}
	s.t.Cleanup(func() { _ = c.Close() })
	return c
}

// send is a plain HTTP exchange, independent of the connector, used to set
// up and read back the provider's state.
func (s *realServer) send(method, target string, body any, out any) int {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, target, rd)
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("%s %s: %v in %s", method, target, err, b)
		}
	}
	return resp.StatusCode
}

// user reads a user back from the provider; nil when it is gone.
func (s *realServer) user(id string) resource {
	s.t.Helper()
	var r resource
	code := s.send(http.MethodGet, s.url+"/Users/"+id, nil, &r)
	if code == http.StatusNotFound {
		return nil
	}
	if code != http.StatusOK {
		s.t.Fatalf("GET user %s: HTTP %d", id, code)
	}
	return r
}

// seed creates a user directly, as an admin or another tool would.
func (s *realServer) seed(doc resource) resource {
	s.t.Helper()
	doc["schemas"] = []any{userSchema}
	var r resource
	if code := s.send(http.MethodPost, s.url+"/Users", doc, &r); code != http.StatusCreated {
		s.t.Fatalf("seed user: HTTP %d %v", code, r)
	}
	return r
}

func (s *realServer) patch(id string, ops ...patchOp) {
	s.t.Helper()
	body := patchRequest{Schemas: []string{patchOpSchema}, Operations: ops}
	if code := s.send(http.MethodPatch, s.url+"/Users/"+id, body, nil); code != http.StatusOK {
		s.t.Fatalf("patch user %s: HTTP %d", id, code)
	}
}

func (s *realServer) userCount() int {
	s.t.Helper()
	var page listResponse
	s.send(http.MethodGet, s.url+"/Users?count=1", nil, &page)
	return page.TotalResults
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// alice is a typical desired user as the mapping evaluates it.
func alice() connectors.User {
	return connectors.User{
		Anchor: "guid-alice", UserName: "alice@corp.example", Active: true,
		Attributes: map[string]any{
			"name.givenName":               "Alice",
			"name.familyName":              "Liddell",
			"displayName":                  "Alice Liddell",
			`emails[type eq "work"].value`: "alice@corp.example",
		},
	}
}

func mustApply(t *testing.T, c *Connector, req connectors.Request) connectors.Account {
	t.Helper()
	acct, err := c.Apply(testCtx(t), req)
	if err != nil {
		t.Fatalf("%s: %v", req.Op, err)
	}
	return acct
}

// wantAttrs compares the provider's resource with the desired attributes,
// path by path.
func wantAttrs(t *testing.T, r resource, u connectors.User) {
	t.Helper()
	if r == nil {
		t.Fatalf("user %q is gone", u.UserName)
	}
	if got := r.str("userName"); !strings.EqualFold(got, u.UserName) {
		t.Errorf("userName = %q, want %q", got, u.UserName)
	}
	if got := r.str("externalId"); got != u.Anchor {
		t.Errorf("externalId = %q, want %q", got, u.Anchor)
	}
	for k, v := range u.Attributes {
		p, _ := parsePath(k)
		if got := p.get(r); got != v {
			t.Errorf("%s = %#v, want %#v", k, got, v)
		}
	}
}

func secret(s string) config.Secret { return config.NewSecret(s) }
