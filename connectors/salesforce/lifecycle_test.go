package salesforce

import (
	"context"
	"slices"
	"testing"

	"github.com/dirbridge/dirbridge/connectors"
)

// created makes ada's account and returns the request for op on it.
func created(t *testing.T, org *fakeOrg, c *Connector, op connectors.Operation) connectors.Request {
	t.Helper()
	p := person("guid-1", "ada@acme.example")
	acct := mustApply(t, c, createReq(p))
	return connectors.Request{Op: op, Desired: p, Confirmed: &p, Account: acct}
}

func TestDeactivateFreezesFirst(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	req := created(t, org, c, connectors.OpDeactivate)
	req.Desired.Active = false
	before := len(org.callLog())
	acct := mustApply(t, c, req)
	calls := org.callLog()[before:]
	freeze, deactivate := slices.Index(calls, "PATCH UserLogin"), slices.Index(calls, "PATCH User")
	if freeze < 0 || deactivate < 0 || freeze > deactivate {
		t.Fatalf("calls = %v; want the UserLogin freeze before the User deactivation", calls)
	}
	if acct.Status != connectors.StatusDeactivated || org.record("User", acct.ExternalID)["IsActive"] != false ||
		org.login(acct.ExternalID)["IsFrozen"] != true {
		t.Fatalf("account = %+v", acct)
	}
}

func TestDeactivateBlockedKeepsTheFreeze(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	req := created(t, org, c, connectors.OpDeactivate)
	org.blocked[req.Account.ExternalID] = restError{ErrorCode: "FIELD_INTEGRITY_EXCEPTION",
		Message: "You cannot deactivate this user: they are in a custom hierarchy field (Manager__c).", Fields: []string{"Manager__c"}}
	acct, err := c.Apply(context.Background(), req)
	wantClass(t, err, connectors.Permanent, "FIELD_INTEGRITY_EXCEPTION")
	if acct.Status != connectors.StatusFrozen || acct.ExternalID != req.Account.ExternalID {
		t.Fatalf("account = %+v; want the freeze recorded", acct)
	}
	if org.login(acct.ExternalID)["IsFrozen"] != true || org.record("User", acct.ExternalID)["IsActive"] != true {
		t.Fatal("org state is not frozen-but-active")
	}
	// Once an admin clears the hierarchy field, the retry completes.
	delete(org.blocked, acct.ExternalID)
	if got := mustApply(t, c, req); got.Status != connectors.StatusDeactivated {
		t.Fatalf("retry status = %s", got.Status)
	}
}

func TestDeactivateWhenFreezeFailsDoesNotDeactivate(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	req := created(t, org, c, connectors.OpDeactivate)
	org.failRecord("UserLogin", "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record", func(map[string]any) bool { return true })
	_, err := c.Apply(context.Background(), req)
	wantClass(t, err, connectors.Retryable, "UNABLE_TO_LOCK_ROW")
	if org.record("User", req.Account.ExternalID)["IsActive"] != true {
		t.Fatal("deactivated without the freeze")
	}
}

func TestDeactivateTwiceIsIdempotent(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	req := created(t, org, c, connectors.OpDeactivate)
	mustApply(t, c, req)
	before := len(org.callLog())
	acct := mustApply(t, c, req)
	if acct.Status != connectors.StatusDeactivated {
		t.Fatalf("status = %s", acct.Status)
	}
	for _, call := range org.callLog()[before:] {
		if call == "PATCH User" || call == "PATCH UserLogin" {
			t.Fatalf("second Deactivate wrote %s", call)
		}
	}
}

func TestFreezeAndUnfreeze(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	req := created(t, org, c, connectors.OpFreeze)
	req.Desired.Frozen = true
	acct := mustApply(t, c, req)
	if acct.Status != connectors.StatusFrozen || org.login(acct.ExternalID)["IsFrozen"] != true {
		t.Fatalf("freeze: account = %+v", acct)
	}
	if org.record("User", acct.ExternalID)["IsActive"] != true {
		t.Fatal("freeze deactivated the user")
	}
	req.Op, req.Desired.Frozen = connectors.OpUnfreeze, false
	acct = mustApply(t, c, req)
	if acct.Status != connectors.StatusActive || org.login(acct.ExternalID)["IsFrozen"] != false {
		t.Fatalf("unfreeze: account = %+v", acct)
	}
}

func TestActivateUnfreezesTerminatedUser(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	req := created(t, org, c, connectors.OpDeactivate)
	mustApply(t, c, req)
	req.Op = connectors.OpActivate
	acct := mustApply(t, c, req)
	if acct.Status != connectors.StatusActive || org.login(acct.ExternalID)["IsFrozen"] != false ||
		org.record("User", acct.ExternalID)["IsActive"] != true {
		t.Fatalf("account = %+v", acct)
	}
}

func TestActivateOverLicenceLimitIsCapacity(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	req := created(t, org, c, connectors.OpDeactivate)
	mustApply(t, c, req)
	org.licences = 1
	org.addUser(map[string]any{"Username": "admin@acme.example"})
	req.Op = connectors.OpActivate
	_, err := c.Apply(context.Background(), req)
	wantClass(t, err, connectors.Capacity, "LICENSE_LIMIT_EXCEEDED")
}

func TestReactivateRestoresDesiredState(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	req := created(t, org, c, connectors.OpDeactivate)
	mustApply(t, c, req)
	back := person("guid-1", "ada@acme.example")
	back.Attributes["Title"] = "Engineer"
	back.PermissionSets = []string{"Sales_Cloud_User"}
	acct := mustApply(t, c, connectors.Request{Op: connectors.OpReactivate, Desired: back, Confirmed: req.Confirmed, Account: req.Account})
	u := org.record("User", acct.ExternalID)
	if acct.Status != connectors.StatusActive || u["Title"] != "Engineer" || org.login(acct.ExternalID)["IsFrozen"] != false {
		t.Fatalf("account = %+v, user = %v", acct, u)
	}
	if n := len(org.rows("PermissionSetAssignment", func(r map[string]any) bool { return r["AssigneeId"] == acct.ExternalID })); n != 1 {
		t.Fatalf("%d assignments, want 1", n)
	}
}

func TestCreateFrozenPersonFreezesNewUser(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	p := person("guid-1", "ada@acme.example")
	p.Frozen = true
	acct := mustApply(t, c, createReq(p))
	if acct.Status != connectors.StatusFrozen || org.login(acct.ExternalID)["IsFrozen"] != true {
		t.Fatalf("account = %+v", acct)
	}
}

func TestCreateInactivePersonCreatesInactiveUser(t *testing.T) {
	org := newFakeOrg(t)
	org.licences = 0 // an inactive user takes no licence
	c := org.connector(t)
	p := person("guid-1", "ada@acme.example")
	p.Active = false
	acct := mustApply(t, c, createReq(p))
	if acct.Status != connectors.StatusDeactivated {
		t.Fatalf("account = %+v", acct)
	}
}
