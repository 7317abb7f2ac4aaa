package salesforce

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/dirbridge/dirbridge/connectors"
)

// TestCallErrorsClassified injects whole-call failures with the bodies
// Salesforce sends and checks what the outbox is told.
func TestCallErrorsClassified(t *testing.T) {
	cases := []struct {
		name      string
		status    int
		body      string
		header    http.Header
		class     connectors.Class
		code      string
		wantAfter time.Duration
	}{
		{"row lock", 400, `[{"message":"unable to obtain exclusive access to this record","errorCode":"UNABLE_TO_LOCK_ROW","fields":[]}]`,
			nil, connectors.Retryable, "UNABLE_TO_LOCK_ROW", 0},
		{"daily limit", 403, `[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`,
			nil, connectors.RateLimited, "REQUEST_LIMIT_EXCEEDED", defaultRateWait},
		{"daily limit with Retry-After", 403, `[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`,
			http.Header{"Retry-After": {"120"}}, connectors.RateLimited, "REQUEST_LIMIT_EXCEEDED", 2 * time.Minute},
		{"licences", 400, `[{"message":"License Limit Exceeded","errorCode":"LICENSE_LIMIT_EXCEEDED","fields":[]}]`,
			nil, connectors.Capacity, "LICENSE_LIMIT_EXCEEDED", 0},
		{"duplicate username", 400, `[{"message":"Duplicate Username.","errorCode":"DUPLICATE_USERNAME","fields":["Username"]}]`,
			nil, connectors.Permanent, "DUPLICATE_USERNAME", 0},
		{"no access", 403, `[{"message":"insufficient access rights on cross-reference id","errorCode":"INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY"}]`,
			nil, connectors.Permanent, "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY", 0},
		{"maintenance page", 503, `<html>Service Unavailable</html>`, nil, connectors.Retryable, "503", 0},
		{"proxy throttling", 429, ``, nil, connectors.RateLimited, "429", defaultRateWait},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			org := newFakeOrg(t)
			c := org.connector(t)
			org.failNext("GET", "/query", tc.status, tc.body, tc.header)
			_, err := c.Apply(context.Background(), createReq(person("guid-1", "ada@acme.example")))
			wantClass(t, err, tc.class, tc.code)
			if _, after := connectors.ClassOf(err); after != tc.wantAfter {
				t.Fatalf("RetryAfter = %v, want %v", after, tc.wantAfter)
			}
		})
	}
}

// TestRecordErrorsClassified: collection results carry statusCode per
// record, and the same codes classify the same way.
func TestRecordErrorsClassified(t *testing.T) {
	cases := []struct {
		code  string
		class connectors.Class
	}{
		{"UNABLE_TO_LOCK_ROW", connectors.Retryable},
		{"REQUEST_LIMIT_EXCEEDED", connectors.RateLimited},
		{"LICENSE_LIMIT_EXCEEDED", connectors.Capacity},
		{"DUPLICATE_USERNAME", connectors.Permanent},
		{"INVALID_EMAIL_ADDRESS", connectors.Permanent},
	}
	for _, tc := range cases {
		t.Run(tc.code, func(t *testing.T) {
			org := newFakeOrg(t)
			c := org.connector(t)
			org.failRecord("User", tc.code, "refused by the test", func(map[string]any) bool { return true })
			_, err := c.Apply(context.Background(), createReq(person("guid-1", "ada@acme.example")))
			wantClass(t, err, tc.class, tc.code)
		})
	}
}

func TestAPIUsageFromLimitInfoHeader(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	if used, max := c.APIUsage(); used != 0 || max != 0 {
		t.Fatalf("usage before any call = %d/%d", used, max)
	}
	mustApply(t, c, createReq(person("guid-1", "ada@acme.example")))
	used, max := c.APIUsage()
	if max != 15000 || used != org.apiCalls || used == 0 {
		t.Fatalf("usage = %d/%d, org counted %d/15000", used, max, org.apiCalls)
	}
}

func TestBudgetHeaderParsing(t *testing.T) {
	var b budget
	b.record("api-usage=14950/15000, per-app-api-usage=17/250(appName=dirbridge)")
	if used, max := b.usage(); used != 14950 || max != 15000 {
		t.Fatalf("usage = %d/%d", used, max)
	}
	if !b.low(1) || b.low(0) {
		t.Fatal("50 of 15000 left is below a 1% reserve and not below 0%")
	}
	b.record("garbage")
	if used, _ := b.usage(); used != 14950 {
		t.Fatal("a malformed header changed the budget")
	}
}

// TestLowBudgetHoldsBulkWorkButNotTerminations: near the daily limit,
// Creates wait (rate limited, no call made) while Deactivate goes through.
func TestLowBudgetHoldsBulkWorkButNotTerminations(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	acct := mustApply(t, c, createReq(person("guid-1", "ada@acme.example")))
	org.mu.Lock()
	org.apiCalls = org.apiMax - 100 // 100 of 15000 left: below the 10% reserve
	org.mu.Unlock()
	mustApply(t, c, connectors.Request{Op: connectors.OpFreeze, Desired: person("guid-1", "ada@acme.example"), Account: acct})
	before := len(org.callLog())
	_, err := c.Apply(context.Background(), createReq(person("guid-2", "bob@acme.example")))
	wantClass(t, err, connectors.RateLimited, CodeBudgetLow)
	if _, after := connectors.ClassOf(err); after != 15*time.Minute {
		t.Fatalf("RetryAfter = %v", after)
	}
	if len(org.callLog()) != before {
		t.Fatal("a held Create still called the org")
	}
	got := mustApply(t, c, connectors.Request{Op: connectors.OpDeactivate, Desired: person("guid-1", "ada@acme.example"), Account: acct})
	if got.Status != connectors.StatusDeactivated {
		t.Fatalf("status = %s", got.Status)
	}
}
