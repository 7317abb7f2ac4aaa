package salesforce

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/dirbridge/dirbridge/connectors"
)

func createReqs(n int, edit func(i int, u *connectors.User)) []connectors.Request {
	reqs := make([]connectors.Request, n)
	for i := range reqs {
		u := person(fmt.Sprintf("guid-%d", i), fmt.Sprintf("user%d@acme.example", i))
		if edit != nil {
			edit(i, &u)
		}
		reqs[i] = createReq(u)
		reqs[i].ID = uint64(i + 1)
	}
	return reqs
}

func TestBatchSplitsCollectionsAt200(t *testing.T) {
	org := newFakeOrg(t)
	org.licences = 1000
	c := org.connector(t)
	reqs := createReqs(250, func(i int, u *connectors.User) { u.PermissionSets = []string{"Sales_Cloud_User"} })
	results := c.ApplyBatch(context.Background(), reqs)
	for i, r := range results {
		if r.Err != nil || r.Account.UserName != reqs[i].Desired.UserName {
			t.Fatalf("result %d = %+v, %v; want request %d's account", i, r.Account, r.Err, i)
		}
	}
	log := org.callLog()
	if n := countCalls(log, "POST User"); n != 2 {
		t.Fatalf("%d User collection calls for 250 creates, want 2", n)
	}
	if n := countCalls(log, "POST PermissionSetAssignment"); n != 2 {
		t.Fatalf("%d assignment collection calls, want 2", n)
	}
	if n := countCalls(log, "GET query User"); n != 4 {
		t.Fatalf("%d user lookups, want 4 (anchor and username, 200 values each)", n)
	}
}

func TestBatchPartialFailureIsMappedToItsRequest(t *testing.T) {
	org := newFakeOrg(t)
	org.otherOrgs["user1@acme.example"] = true
	org.failRecord("User", "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record",
		func(r map[string]any) bool { return r["Username"] == "user3@acme.example" })
	c := org.connector(t)
	reqs := createReqs(5, nil)
	results := c.ApplyBatch(context.Background(), reqs)
	wantClass(t, results[1].Err, connectors.Permanent, "DUPLICATE_USERNAME")
	wantClass(t, results[3].Err, connectors.Retryable, "UNABLE_TO_LOCK_ROW")
	for _, i := range []int{0, 2, 4} {
		if results[i].Err != nil || results[i].Account.UserName != reqs[i].Desired.UserName {
			t.Fatalf("result %d = %+v, %v", i, results[i].Account, results[i].Err)
		}
	}
	if n := countCalls(org.callLog(), "POST User"); n != 1 {
		t.Fatalf("%d User collection calls, want 1", n)
	}
	// The retried request goes through on its own.
	retry := reqs[3]
	retry.Verify, retry.Attempt = true, 2
	if r := c.ApplyBatch(context.Background(), []connectors.Request{retry})[0]; r.Err != nil {
		t.Fatal(r.Err)
	}
}

func TestBatchMixesOperationsWithoutMixingObjects(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	existing := c.ApplyBatch(context.Background(), createReqs(3, nil))
	reqs := createReqs(3, nil)
	for i, op := range []connectors.Operation{connectors.OpDeactivate, connectors.OpFreeze, connectors.OpUpdate} {
		reqs[i].Op, reqs[i].Account = op, existing[i].Account
		reqs[i].Desired.Frozen = op == connectors.OpFreeze
		reqs[i].Desired.PermissionSets = []string{"Sales_Console"}
	}
	reqs = append(reqs, createReqs(5, nil)[4])
	results := c.ApplyBatch(context.Background(), reqs)
	want := []connectors.AccountStatus{connectors.StatusDeactivated, connectors.StatusFrozen, connectors.StatusActive, connectors.StatusActive}
	for i, r := range results {
		if r.Err != nil || r.Account.Status != want[i] {
			t.Fatalf("result %d (%s) = %+v, %v; want %s", i, reqs[i].Op, r.Account, r.Err, want[i])
		}
	}
	// The fake fails the test on a collection that mixes sObject types; the
	// Update's licence-gated set also needed its licence first.
	if n := len(org.assignmentsOf(results[2].Account.ExternalID)); n != 1 {
		t.Fatalf("%d assignments for the updated user, want 1", n)
	}
}

func TestBatchWholeCallFailureFailsEachRequest(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	org.failNext("POST", "/composite/sobjects", 503, "<html>down for maintenance</html>", nil)
	results := c.ApplyBatch(context.Background(), createReqs(3, nil))
	for i, r := range results {
		wantClass(t, r.Err, connectors.Retryable, "503")
		if r.Account.ExternalID != "" {
			t.Fatalf("result %d claims account %s", i, r.Account.ExternalID)
		}
	}
}

func TestBatchShortAnswerFailsUncoveredRecords(t *testing.T) {
	got := outcomes(3, []saveResult{{ID: "005A", Success: true}}, nil)
	if got[0].id != "005A" || got[0].err != nil {
		t.Fatalf("first = %+v", got[0])
	}
	for _, o := range got[1:] {
		wantClass(t, o.err, connectors.Retryable, "")
	}
}

// TestTokenExpiryMidBatch revokes the session right after the User
// collection: the assignment calls that follow get INVALID_SESSION_ID, the
// connector fetches one new token and the batch completes.
func TestTokenExpiryMidBatch(t *testing.T) {
	org := newFakeOrg(t)
	var once sync.Once
	org.afterCall = func(method, object string) {
		if method == "POST" && object == "User" {
			once.Do(org.expireSessions)
		}
	}
	c := org.connector(t)
	reqs := createReqs(10, func(i int, u *connectors.User) { u.PermissionSets = []string{"Sales_Cloud_User"} })
	for i, r := range c.ApplyBatch(context.Background(), reqs) {
		if r.Err != nil {
			t.Fatalf("result %d: %v", i, r.Err)
		}
		if n := len(org.assignmentsOf(r.Account.ExternalID)); n != 1 {
			t.Fatalf("user %d has %d assignments", i, n)
		}
	}
	if org.tokenCalls != 2 {
		t.Fatalf("%d token requests, want 2", org.tokenCalls)
	}
}

func TestApplyIsABatchOfOne(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	acct := mustApply(t, c, createReq(person("guid-1", "ada@acme.example")))
	if !strings.HasPrefix(acct.ExternalID, "005") {
		t.Fatalf("account id %q is not a User id", acct.ExternalID)
	}
	if countCalls(org.callLog(), "POST User") != 1 {
		t.Fatal("Apply did not create through the collection endpoint")
	}
}

func TestCatalogueFailureSparesTerminations(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	existing := c.ApplyBatch(context.Background(), createReqs(1, nil))[0].Account
	reqs := createReqs(2, nil)
	reqs[0].Op, reqs[0].Account = connectors.OpDeactivate, existing
	reqs[1].Desired.Profile = "System Administrator" // not cached yet: needs a Profile query
	// The lookups pass; the catalogue query that follows them fails.
	var once sync.Once
	org.afterCall = func(method, object string) {
		if object == "query UserLogin" {
			once.Do(func() {
				org.failNext("GET", "/query", 500, `[{"message":"An unexpected error occurred","errorCode":"UNKNOWN_EXCEPTION"}]`, nil)
			})
		}
	}
	results := c.ApplyBatch(context.Background(), reqs)
	if results[0].Err != nil || results[0].Account.Status != connectors.StatusDeactivated {
		t.Fatalf("deactivate = %+v, %v", results[0].Account, results[0].Err)
	}
	wantClass(t, results[1].Err, connectors.Retryable, "UNKNOWN_EXCEPTION")
}

// TestConcurrentApplyShareCachesSafely: the dispatcher calls Apply for
// different people at once; the token, the catalogue caches and the budget
// are shared (run with -race).
func TestConcurrentApplyShareCachesSafely(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	reqs := createReqs(16, func(i int, u *connectors.User) { u.PermissionSets = []string{"Sales_Bundle"} })
	errs := make([]error, len(reqs))
	var wg sync.WaitGroup
	for i := range reqs {
		wg.Go(func() { _, errs[i] = c.Apply(context.Background(), reqs[i]) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if n := len(org.rows("User", func(map[string]any) bool { return true })); n != 16 {
		t.Fatalf("%d users, want 16", n)
	}
	if org.tokenCalls != 1 {
		t.Fatalf("%d token requests for concurrent callers, want 1", org.tokenCalls)
	}
}
