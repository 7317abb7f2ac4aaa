package statusapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/dirbridge/dirbridge/demo"
	"github.com/dirbridge/dirbridge/operator"
	"github.com/dirbridge/dirbridge/statusapi"
)

const opToken = "operator-token-0123456789"

func withOperator(cfg string) string {
	return strings.Replace(cfg, "  tokenFile: status.token\n",
		"  tokenFile: status.token\n  users:\n    - {name: anna, role: operator, token: "+opToken+"}\n", 1)
}

// call sends one request to h and returns the status code and body.
func call(t *testing.T, h http.Handler, method, path, host, tok string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(method, "http://127.0.0.1"+path, nil)
	if host != "" {
		req.Host = host
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("X-Dirbridge-Actor", "helpdesk-anna")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b)
}

func TestStatusEndpoint(t *testing.T) {
	w := startWorld(t, withOperator)
	h := statusapi.NewServer(w.a, w.cfg, zerolog.Nop()).Handler()
	held := w.hold(t, "slack", "someone")
	tok, id := w.token(t), strconv.FormatUint(held.ID, 10)
	cases := []struct {
		name, method, path, host, token string
		code                            int
		contains                        string
	}{
		{"health", "GET", "/healthz", "", "", 200, "ok"},
		{"status JSON", "GET", "/api/v1/status", "", "", 200, `"Completed": 33`},
		{"helpdesk page", "GET", "/?person=" + demo.People()[0].Login, "", "", 200, "Alice Martin"},
		{"the page sums up held batches", "GET", "/", "", "", 200, "<b>slack</b>: 1 Create held"},
		{"metrics", "GET", "/metrics", "", "", 200, `dirbridge_requests{app="slack",state="Completed"} 33`},
		{"person", "GET", "/api/v1/people/" + demo.People()[0].Login, "", "", 200, "CN=Slack Users"},
		{"foreign Host is refused", "GET", "/api/v1/status", "evil.example:8470", "", http.StatusMisdirectedRequest, "Host"},
		{"action without token", "POST", "/api/v1/requests/1/retry", "", "", 401, "bearer token"},
		{"action with a wrong token", "POST", "/api/v1/requests/1/retry", "", "wrong-token-wrong-token", 401, "bearer token"},
		{"illegal action", "POST", "/api/v1/requests/1/retry", "", tok, 409, "only Failed or Retrying"},
		{"an operator may retry", "POST", "/api/v1/requests/1/retry", "", opToken, 409, "only Failed or Retrying"},
		{"an operator may not approve", "POST", "/api/v1/requests/" + id + "/approve", "", opToken, 403, "needs an approver"},
		{"approve with the approver token", "POST", "/api/v1/requests/" + id + "/approve", "", tok, 200, `"approver": "token-file for helpdesk-anna`},
		{"unknown request", "GET", "/api/v1/requests/99999", "", "", 404, "not found"},
		{"a bad limit", "GET", "/api/v1/requests?limit=-3", "", "", 400, "positive number"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := call(t, h, c.method, c.path, c.host, c.token)
			if code != c.code || !strings.Contains(body, c.contains) {
				t.Fatalf("%s %s: %d %s\nwant %d containing %q", c.method, c.path, code, body, c.code, c.contains)
			}
		})
	}
	var d operator.RequestDetail
	_, body := call(t, h, "GET", statusapi.RequestPath(held.ID), "", "")
	if err := json.Unmarshal([]byte(body), &d); err != nil || len(d.Log) < 2 {
		t.Fatalf("request detail: %v %s", err, body)
	}
}
