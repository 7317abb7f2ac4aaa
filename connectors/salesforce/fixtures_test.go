package salesforce

// Tests against answers recorded in testdata/ in the documented shapes,
// served as they are (no fake logic): they check the connector reads what
// Salesforce writes, independently of how the fake org encodes its answers.

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/dirbridge/dirbridge/connectors"
)

type answer struct {
	status int
	file   string
	header http.Header
}

// replay serves testdata files by route: "token", "query <Object>" or
// "more" (a nextRecordsUrl), and "<METHOD> collection".
func replay(t *testing.T, routes map[string]answer) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := routes[routeOf(r)]
		if !ok {
			t.Errorf("unexpected call %s %s", r.Method, r.URL)
			http.Error(w, "unexpected", http.StatusNotImplemented)
			return
		}
		body, err := os.ReadFile("testdata/" + a.file)
		if err != nil {
			t.Error(err)
		}
		for k, v := range a.header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.WriteHeader(a.status)
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func routeOf(r *http.Request) string {
	switch {
	case r.URL.Path == "/services/oauth2/token":
		return "token"
	case strings.HasSuffix(r.URL.Path, "/composite/sobjects"):
		return r.Method + " collection"
	case r.URL.Query().Get("q") != "":
		return "query " + soqlObject(r.URL.Query().Get("q"))
	case strings.Contains(r.URL.Path, "/query/01g"):
		return "more"
	}
	return r.Method + " " + r.URL.Path
}

func replayConnector(t *testing.T, srv *httptest.Server) *Connector {
	// The recorded token names acme.my.salesforce.com; the pinned
	// instanceURL keeps API calls on the replay server.
	return connectorFor(t, srv.URL, func(cfg *Config) { cfg.InstanceURL = srv.URL })
}

func TestRecordedQueryPagesAndFrozenLogins(t *testing.T) {
	srv := replay(t, map[string]answer{
		"token":           {200, "token-jwt.json", nil},
		"query UserLogin": {200, "query-frozen-logins.json", http.Header{"Sforce-Limit-Info": {"api-usage=41/15000"}}},
		"query User":      {200, "query-users-page1.json", nil},
		"more":            {200, "query-users-page2.json", nil},
	})
	c := replayConnector(t, srv)
	var got []connectors.Account
	if err := c.ListAccounts(context.Background(), func(a connectors.Account) error { got = append(got, a); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []connectors.Account{
		{ExternalID: "005RM000001aaaAYAQ", UserName: "ada@acme.example", Anchor: "5b0c9a8e-0d7f-4f7e-9d0e-3f2a1c4b5d6e", Status: connectors.StatusActive, Email: "ada@acme.example"},
		{ExternalID: "005RM000001bbbBYAQ", UserName: "bob@acme.example", Status: connectors.StatusDeactivated, Email: "bob@acme.example"},
		{ExternalID: "005RM000001cccCYAQ", UserName: "carol@acme.example", Anchor: "9f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b", Status: connectors.StatusFrozen, Email: "carol@acme.example"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d accounts: %+v", len(got), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("account %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if used, max := c.APIUsage(); used != 41 || max != 15000 {
		t.Errorf("usage = %d/%d", used, max)
	}
}

func TestRecordedPartialCollectionAnswer(t *testing.T) {
	srv := replay(t, map[string]answer{
		"token":           {200, "token-jwt.json", nil},
		"query User":      {200, "query-empty.json", nil},
		"query Profile":   {200, "query-profile.json", nil},
		"POST collection": {200, "collection-user-create-partial.json", nil},
	})
	c := replayConnector(t, srv)
	results := c.ApplyBatch(context.Background(), createReqs(3, nil))
	if results[0].Err != nil || results[0].Account.ExternalID != "005RM000001dddDYAQ" {
		t.Fatalf("first = %+v, %v", results[0].Account, results[0].Err)
	}
	wantClass(t, results[1].Err, connectors.Permanent, "DUPLICATE_USERNAME")
	wantClass(t, results[2].Err, connectors.Capacity, "LICENSE_LIMIT_EXCEEDED")
}

func TestRecordedRequestLimitAnswer(t *testing.T) {
	srv := replay(t, map[string]answer{
		"token":      {200, "token-jwt.json", nil},
		"query User": {403, "error-request-limit.json", http.Header{"Sforce-Limit-Info": {"api-usage=15002/15000"}}},
	})
	c := replayConnector(t, srv)
	_, err := c.Apply(context.Background(), createReq(person("guid-1", "ada@acme.example")))
	wantClass(t, err, connectors.RateLimited, "REQUEST_LIMIT_EXCEEDED")
	if used, _ := c.APIUsage(); used != 15002 {
		t.Fatalf("used = %d", used)
	}
}

func TestRecordedInvalidGrant(t *testing.T) {
	srv := replay(t, map[string]answer{"token": {400, "token-invalid-grant.json", nil}})
	c := replayConnector(t, srv)
	err := c.Probe(context.Background())
	wantClass(t, err, connectors.Retryable, "invalid_grant")
	if !strings.Contains(err.Error(), "user hasn't approved this consumer") {
		t.Fatalf("err = %v; want the org's description for the admin", err)
	}
}
