package scim

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dirbridge/dirbridge/connectors"
)

var fixedNow = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

// Every error an app can answer with, classified for the outbox. Each case
// is one Update (a PATCH) against a server that answers only that.
func TestErrorClassification(t *testing.T) {
	cases := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		class      connectors.Class
		code       string
		retryAfter time.Duration
		inMsg      string
		hits       int64 // requests expected beyond the one; a 404 makes a lookup by anchor
	}{
		{name: "429 Retry-After seconds", status: 429, header: map[string]string{"Retry-After": "7"},
			class: connectors.RateLimited, code: "429", retryAfter: 7 * time.Second},
		{name: "429 Retry-After HTTP-date", status: 429,
			header: map[string]string{"Retry-After": fixedNow.Add(90 * time.Second).Format(http.TimeFormat)},
			class:  connectors.RateLimited, code: "429", retryAfter: 90 * time.Second},
		{name: "429 without Retry-After", status: 429, class: connectors.RateLimited, code: "429", retryAfter: defaultRateLimitPause},
		{name: "500 SCIM error", status: 500, body: `{"schemas":["` + errorSchema + `"],"status":"500","detail":"db down"}`,
			class: connectors.Retryable, code: "500", inMsg: "db down"},
		{name: "503 Retry-After", status: 503, header: map[string]string{"Retry-After": "12"},
			class: connectors.Retryable, code: "503", retryAfter: 12 * time.Second},
		{name: "502 HTML page", status: 502, header: map[string]string{"Content-Type": "text/html"},
			body:  "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>nginx</body></html>",
			class: connectors.Retryable, code: "502", inMsg: "<title>502 Bad Gateway</title>"},
		{name: "400 invalidValue", status: 400, body: `{"schemas":["` + errorSchema + `"],"status":"400","scimType":"invalidValue","detail":"bad email"}`,
			class: connectors.Permanent, code: "400 invalidValue", inMsg: "bad email"},
		{name: "404", status: 404, class: connectors.NotFound, code: "404", hits: 1},
		{name: "409 uniqueness", status: 409, body: `{"status":"409","scimType":"uniqueness","detail":"taken"}`,
			class: connectors.Conflict, code: "409 uniqueness"},
		{name: "403 out of licences", status: 403, body: `{"status":"403","detail":"License limit exceeded for this plan"}`,
			class: connectors.Capacity, code: "403"},
		{name: "403 forbidden", status: 403, body: `{"status":"403","detail":"cannot modify an owner"}`,
			class: connectors.Permanent, code: "403"},
		{name: "401", status: 401, class: connectors.Retryable, code: "401"},
		{name: "Slack Errors form", status: 400, body: `{"Errors":{"description":"invalid_email","code":400}}`,
			class: connectors.Permanent, code: "400", inMsg: "invalid_email"},
		{name: "200 with an error body", status: 200,
			body:  `{"schemas":["` + errorSchema + `"],"status":"400","scimType":"invalidSyntax","detail":"bad op"}`,
			class: connectors.Permanent, code: "400 invalidSyntax", inMsg: "bad op"},
		{name: "200 with a numberless error body", status: 200, body: `{"schemas":["` + errorSchema + `"],"detail":"oops"}`,
			class: connectors.Retryable, code: "500"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			})
			c := f.connector(t, Config{})
			c.client.now = func() time.Time { return fixedNow }
			_, err := c.Apply(testCtx(t), updateRequest())
			class, after := connectors.ClassOf(err)
			if err == nil || class != tc.class || after != tc.retryAfter || connectors.CodeOf(err) != tc.code {
				t.Fatalf("err = %v; class %s after %s code %q; want %s %s %q", err, class, after,
					connectors.CodeOf(err), tc.class, tc.retryAfter, tc.code)
			}
			if !strings.Contains(err.Error(), tc.inMsg) {
				t.Errorf("message %q lacks %q", err, tc.inMsg)
			}
			if n := f.hits.Load(); n != 1+tc.hits {
				t.Errorf("%d requests; an HTTP status is never retried by the client (the outbox owns retries)", n)
			}
		})
	}
}

func updateRequest() connectors.Request {
	u := alice()
	return connectors.Request{Op: connectors.OpUpdate, Desired: u, Confirmed: &u,
		Account: connectors.Account{ExternalID: "u1", Anchor: u.Anchor}, Changed: []string{"name.givenName"}}
}

// A success status with a body that is not SCIM JSON (cut off, or a
// proxy's login page) is Retryable: the next attempt looks again.
func TestMalformedSuccessIsRetryable(t *testing.T) {
	bodies := map[string]string{
		"truncated JSON": `{"id": "u1", "userName": `,
		"HTML page":      "<html><body>Please sign in to the proxy</body></html>",
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, body) })
			c := f.connector(t, Config{})
			_, err := c.Apply(testCtx(t), updateRequest())
			if class, _ := connectors.ClassOf(err); !errors.Is(err, errMalformed) || class != connectors.Retryable {
				t.Fatalf("err = %v, want a retryable malformed answer", err)
			}
		})
	}
}

// A runaway error body is read only up to maxErrorBody and quoted short.
func TestHugeErrorBodyIsBounded(t *testing.T) {
	const huge = 64 << 20
	written := make(chan int, 1)
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		n := 0
		for n < huge {
			k, err := w.Write(chunk)
			n += k
			if err != nil {
				break
			}
		}
		written <- n
	})
	c := f.connector(t, Config{})
	_, err := c.Apply(testCtx(t), updateRequest())
	if class, _ := connectors.ClassOf(err); class != connectors.Retryable || len(err.Error()) > maxDetail+200 {
		t.Fatalf("err (%d chars) = %.200v", len(err.Error()), err)
	}
	if n := <-written; n >= huge {
		t.Errorf("the server could write all %d bytes: the client read the whole body", n)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n += k
	return k, err
}

func TestReadErrorBodyReadsAtMostTheLimit(t *testing.T) {
	cr := &countingReader{r: strings.NewReader(strings.Repeat("<p>", 1<<20))}
	e := readErrorBody(cr)
	if cr.n > maxErrorBody || len(e.Detail) > maxDetail+3 {
		t.Errorf("read %d bytes, detail %d chars", cr.n, len(e.Detail))
	}
}

func TestParseRetryAfter(t *testing.T) {
	cases := map[string]time.Duration{
		"0": 0, "120": 2 * time.Minute, fixedNow.Add(time.Hour).Format(http.TimeFormat): time.Hour,
		fixedNow.Add(-time.Hour).Format(http.TimeFormat): 0,
	}
	for in, want := range cases {
		if got, ok := parseRetryAfter(in, fixedNow); !ok || got != want {
			t.Errorf("parseRetryAfter(%q) = %s, %v; want %s", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "-1", "soon", "1.5"} {
		if _, ok := parseRetryAfter(bad, fixedNow); ok {
			t.Errorf("parseRetryAfter(%q) accepted", bad)
		}
	}
}
