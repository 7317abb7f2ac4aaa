package scim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dirbridge/dirbridge/connectors"
	"golang.org/x/oauth2"
)

const (
	// maxErrorBody bounds what is read of an error answer: a proxy's HTML
	// page or a runaway body must not cost memory (telegraf reads 1 KiB).
	maxErrorBody = 4 << 10
	// maxDetail bounds the detail quoted in an error message and the log.
	maxDetail = 300
	// defaultRateLimitPause is used when a 429 carries no Retry-After.
	defaultRateLimitPause = 5 * time.Second
	// errorSchema marks a SCIM error body (RFC 7644 section 3.12).
	errorSchema = "urn:ietf:params:scim:api:messages:2.0:Error"
)

// scimError is a SCIM error body (RFC 7644 section 3.12), also accepting
// Slack's older {"Errors":{"description","code"}} form.
type scimError struct {
	Schemas  []string        `json:"schemas"`
	Status   json.RawMessage `json:"status"` // a string per the RFC, a number from some servers
	ScimType string          `json:"scimType"`
	Detail   string          `json:"detail"`
	Errors   *struct {
		Description string          `json:"description"`
		Code        json.RawMessage `json:"code"`
	} `json:"Errors"`
}

func (e scimError) status() int {
	raw := e.Status
	if len(raw) == 0 && e.Errors != nil {
		raw = e.Errors.Code
	}
	n, _ := strconv.Atoi(strings.Trim(string(raw), `"`))
	return n
}

func (e scimError) detail() string {
	if e.Detail == "" && e.Errors != nil {
		return e.Errors.Description
	}
	return e.Detail
}

// isError reports whether a body that came with a 2xx is in fact an error:
// some gateways answer 200 with a SCIM error document.
func (e scimError) isError() bool {
	for _, s := range e.Schemas {
		if s == errorSchema {
			return true
		}
	}
	return e.Errors != nil
}

// readErrorBody reads at most maxErrorBody bytes and parses them as a SCIM
// error when they are JSON; otherwise the detail is the text, trimmed.
func readErrorBody(body io.Reader) scimError {
	b, _ := io.ReadAll(io.LimitReader(body, maxErrorBody))
	var e scimError
	if json.Unmarshal(b, &e) == nil && (e.Detail != "" || e.ScimType != "" || e.Errors != nil) {
		return e
	}
	e = scimError{Detail: printable(b)}
	return e
}

// printable turns a body prefix into one short line for messages and logs.
func printable(b []byte) string {
	b = bytes.TrimSpace(b)
	if !utf8.Valid(b) {
		return fmt.Sprintf("(%d bytes of binary)", len(b))
	}
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > maxDetail {
		s = s[:maxDetail] + "..."
	}
	return s
}

// classify turns an HTTP status and SCIM error into a classified error.
// what names the exchange, e.g. `create user "alice"`.
func classify(what string, status int, h http.Header, e scimError, now time.Time) error {
	code := strconv.Itoa(status)
	if e.ScimType != "" {
		code += " " + e.ScimType
	}
	err := fmt.Errorf("scim: %s: HTTP %d: %s", what, status, orNone(e.detail()))
	ce := &connectors.Error{Class: classOf(status, e), Code: code, Err: err}
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		ce.RetryAfter, _ = parseRetryAfter(h.Get("Retry-After"), now)
	}
	if status == http.StatusTooManyRequests && ce.RetryAfter == 0 {
		ce.RetryAfter = defaultRateLimitPause
	}
	return ce
}

func orNone(s string) string {
	if s == "" {
		return "(no detail)"
	}
	return s
}

// classOf maps a status to what the outbox should do. 401 is Retryable, not
// Permanent: a bad or revoked credential is the app's problem, not the
// person's, and the outbox's attempt limit and quarantine handle it without
// failing every request for good.
func classOf(status int, e scimError) connectors.Class {
	switch {
	case status == http.StatusTooManyRequests:
		return connectors.RateLimited
	case status == http.StatusNotFound:
		return connectors.NotFound
	case status == http.StatusConflict:
		return connectors.Conflict
	case isCapacity(status, e):
		return connectors.Capacity
	case status == http.StatusUnauthorized, status == http.StatusRequestTimeout,
		status == http.StatusPreconditionFailed, status >= 500:
		return connectors.Retryable
	case status >= 400:
		return connectors.Permanent
	}
	return connectors.Retryable
}

// isCapacity spots "out of licences/seats" answers. SCIM has no scimType for
// it (RFC 7644 section 3.12), so providers say it in the detail of a 400 or 403.
func isCapacity(status int, e scimError) bool {
	if status != http.StatusBadRequest && status != http.StatusForbidden {
		return false
	}
	d := strings.ToLower(e.detail())
	return (strings.Contains(d, "licen") || strings.Contains(d, "seat")) &&
		(strings.Contains(d, "limit") || strings.Contains(d, "exceed") || strings.Contains(d, "no available") ||
			strings.Contains(d, "insufficient") || strings.Contains(d, "out of"))
}

// parseRetryAfter reads delay-seconds or an HTTP-date (RFC 9110 section 10.2.3).
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0, false
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if d := t.Sub(now); d > 0 {
		return d, true
	}
	return 0, true
}

// transportError classifies a failure without an HTTP answer: a timeout,
// a reset, or an OAuth token endpoint that refused us.
func transportError(what string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		// The token endpoint's answer can echo request details; quote only
		// its error code, never the body.
		return &connectors.Error{Class: connectors.Retryable, Code: "oauth2 " + re.ErrorCode,
			Err: fmt.Errorf("scim: %s: token endpoint refused the client (HTTP %d %s)", what, status, re.ErrorCode)}
	}
	return &connectors.Error{Class: connectors.Retryable, Code: "transport", Err: fmt.Errorf("scim: %s: %w", what, err)}
}
