package scim

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"
)

// fakeSCIM is an httptest server for what a real server will not do on
// demand. It counts requests.
type fakeSCIM struct {
	*httptest.Server
	hits atomic.Int64
}

func newFake(t *testing.T, h http.HandlerFunc) *fakeSCIM {
	t.Helper()
	f := &fakeSCIM{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

// connector returns a connector for the fake; cfg's BaseURL and Auth are
// filled in unless set. PATCH is forced so no discovery exchange happens.
func (f *fakeSCIM) connector(t *testing.T, cfg Config) *Connector {
	t.Helper()
	if cfg.BaseURL == "" {
		cfg.BaseURL = f.URL + "/scim/v2"
	}
	if cfg.Auth.BearerToken.IsZero() && cfg.Auth.OAuth2 == nil {
		cfg.Auth.BearerToken = secret("fake-token")
	}
	if cfg.Patch == "" {
		cfg.Patch = "always"
	}
	c, err := New(cfg, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
