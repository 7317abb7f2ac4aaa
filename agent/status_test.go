package agent

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dirbridge/dirbridge/connectors"
	"github.com/dirbridge/dirbridge/demo"
	"github.com/dirbridge/dirbridge/outbox"
)

func TestStatusEndpoint(t *testing.T) {
	const opToken = "operator-token-0123456789"
	w := startWorldWith(t, func(cfg string) string {
		return strings.Replace(cfg, "  tokenFile: status.token\n",
			"  tokenFile: status.token\n  users:\n    - {name: anna, role: operator, token: "+opToken+"}\n", 1)
	})
	w.waitFor("the initial Creates", func(tx *outbox.Tx) bool { return tx.Counts("slack")[outbox.StateCompleted] == 33 })
	srv := httptest.NewServer(w.a.Handler())
	defer srv.Close()
	token, _ := os.ReadFile(filepath.Join(w.dir, demo.TokenFile))
	// A request the operator can act on: hold one Create for approval.
	var held outbox.Request
	update(t, w.a.store, func(tx *outbox.Tx) error {
		var err error
		held, err = tx.Enqueue(outbox.NewRequest{App: "slack", PersonID: "someone", Op: connectors.OpCreate,
			Target: &connectors.User{Anchor: "x", UserName: "x@corp.example", Active: true}, Hold: "test"})
		return err
	})
	do := func(method, path, host, tok string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		if host != "" {
			req.Host = host
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("X-Dirbridge-Actor", "helpdesk-anna")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tok := strings.TrimSpace(string(token))
	cases := []struct {
		name, method, path, host, token string
		code                            int
		contains                        string
	}{
		{"health", "GET", "/healthz", "", "", 200, "ok"},
		{"status JSON", "GET", "/api/v1/status", "", "", 200, `"Completed": 33`},
		{"helpdesk page", "GET", "/?person=" + demo.People()[0].Login, "", "", 200, "Alice Martin"},
		{"metrics", "GET", "/metrics", "", "", 200, `dirbridge_requests{app="slack",state="Completed"} 33`},
		{"person", "GET", "/api/v1/people/" + demo.People()[0].Login, "", "", 200, "CN=Slack Users"},
		{"foreign Host is refused", "GET", "/api/v1/status", "evil.example:8470", "", http.StatusMisdirectedRequest, "Host"},
		{"action without token", "POST", "/api/v1/requests/1/retry", "", "", 401, "bearer token"},
		{"action with a wrong token", "POST", "/api/v1/requests/1/retry", "", "wrong-token-wrong-token", 401, "bearer token"},
		{"illegal action", "POST", "/api/v1/requests/1/retry", "", tok, 409, "only Failed or Retrying"},
		{"an operator may retry", "POST", "/api/v1/requests/1/retry", "", opToken, 409, "only Failed or Retrying"},
		{"an operator may not approve", "POST", "/api/v1/requests/" + jsonID(held.ID) + "/approve", "", opToken, 403, "needs an approver"},
		{"approve with the approver token", "POST", "/api/v1/requests/" + jsonID(held.ID) + "/approve", "", tok, 200, `"approver": "token-file for helpdesk-anna`},
		{"unknown request", "GET", "/api/v1/requests/99999", "", "", 404, "not found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := do(c.method, c.path, c.host, c.token)
			if code != c.code || !strings.Contains(body, c.contains) {
				t.Fatalf("%s %s: %d %s\nwant %d containing %q", c.method, c.path, code, body, c.code, c.contains)
			}
		})
	}
	var d RequestDetail
	_, body := do("GET", "/api/v1/requests/"+jsonID(held.ID), "", "")
	if err := json.Unmarshal([]byte(body), &d); err != nil || len(d.Log) < 2 {
		t.Fatalf("request detail: %v %s", err, body)
	}
}

func jsonID(id uint64) string { b, _ := json.Marshal(id); return string(b) }

func update(t *testing.T, s *outbox.Store, fn func(*outbox.Tx) error) {
	t.Helper()
	if err := s.UpdateOne(fn); err != nil {
		t.Fatal(err)
	}
}
