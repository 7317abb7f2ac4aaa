package salesforce

import (
	"context"
	"slices"
	"testing"

	"github.com/dirbridge/dirbridge/connectors"
)

func (o *fakeOrg) assignmentsOf(userID string) []map[string]any {
	return o.rows("PermissionSetAssignment", func(r map[string]any) bool { return r["AssigneeId"] == userID })
}

func TestCreateAssignsPermissionSets(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	p := person("guid-1", "ada@acme.example")
	p.PermissionSets = []string{"Sales_Cloud_User"}
	acct := mustApply(t, c, createReq(p))
	got := org.assignmentsOf(acct.ExternalID)
	if len(got) != 1 || got[0]["PermissionSetId"] != org.idOf("PermissionSet", "Name", "Sales_Cloud_User") {
		t.Fatalf("assignments = %v", got)
	}
	// The set carries a user licence (prefix 100), not a permission set licence.
	if n := len(org.rows("PermissionSetLicenseAssign", func(map[string]any) bool { return true })); n != 0 {
		t.Fatalf("%d licence assignments, want none", n)
	}
}

func TestLicenceGatedPermissionSetAssignsLicenceFirst(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	p := person("guid-1", "ada@acme.example")
	p.PermissionSets = []string{"Sales_Console"}
	acct := mustApply(t, c, createReq(p))
	calls := org.callLog()
	lic, ps := slices.Index(calls, "POST PermissionSetLicenseAssign"), slices.Index(calls, "POST PermissionSetAssignment")
	if lic < 0 || ps < 0 || lic > ps {
		t.Fatalf("calls = %v; want the licence assigned before the permission set", calls)
	}
	psl := org.idOf("PermissionSetLicense", "DeveloperName", "SalesConsoleUser")
	held := org.rows("PermissionSetLicenseAssign", func(r map[string]any) bool {
		return r["AssigneeId"] == acct.ExternalID && r["PermissionSetLicenseId"] == psl
	})
	if len(held) != 1 || len(org.assignmentsOf(acct.ExternalID)) != 1 {
		t.Fatalf("licence rows %v, assignments %v", held, org.assignmentsOf(acct.ExternalID))
	}
}

func TestPermissionSetLicenceExhaustedIsCapacity(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	first := person("guid-1", "ada@acme.example")
	first.PermissionSets = []string{"Sales_Console"}
	mustApply(t, c, createReq(first)) // takes the only licence
	second := person("guid-2", "bob@acme.example")
	second.PermissionSets = []string{"Sales_Console"}
	acct, err := c.Apply(context.Background(), createReq(second))
	wantClass(t, err, connectors.Capacity, "LICENSE_LIMIT_EXCEEDED")
	if acct.ExternalID == "" || len(org.assignmentsOf(acct.ExternalID)) != 0 {
		t.Fatalf("account = %+v; want the user made and no assignment", acct)
	}
}

func TestPermissionSetGroupAssignedThroughGroupID(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	p := person("guid-1", "ada@acme.example")
	p.PermissionSets = []string{"Sales_Bundle"}
	acct := mustApply(t, c, createReq(p))
	got := org.assignmentsOf(acct.ExternalID)
	if len(got) != 1 || got[0]["PermissionSetGroupId"] != org.idOf("PermissionSetGroup", "DeveloperName", "Sales_Bundle") {
		t.Fatalf("assignments = %v", got)
	}
}

func TestAlreadyAssignedCountsAsSuccess(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	confirmed := person("guid-1", "ada@acme.example")
	acct := mustApply(t, c, createReq(confirmed))
	// An admin assigned the set by hand; the org still says DUPLICATE_VALUE.
	ps := org.idOf("PermissionSet", "Name", "Sales_Cloud_User")
	org.mu.Lock()
	org.insert("PermissionSetAssignment", map[string]any{"AssigneeId": acct.ExternalID, "PermissionSetId": ps, "PermissionSetGroupId": nil})
	org.mu.Unlock()
	desired := person("guid-1", "ada@acme.example")
	desired.PermissionSets = []string{"Sales_Cloud_User"}
	mustApply(t, c, connectors.Request{Op: connectors.OpUpdate, Desired: desired, Confirmed: &confirmed, Account: acct})
	if !slices.Contains(org.callLog(), "POST PermissionSetAssignment") {
		t.Fatal("the assignment was never sent, so DUPLICATE_VALUE was not exercised")
	}
	if n := len(org.assignmentsOf(acct.ExternalID)); n != 1 {
		t.Fatalf("%d assignments, want 1", n)
	}
}

func TestUpdateRemovesPermissionSetsNoLongerDesired(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	confirmed := person("guid-1", "ada@acme.example")
	confirmed.PermissionSets = []string{"Sales_Cloud_User", "Sales_Bundle"}
	acct := mustApply(t, c, createReq(confirmed))
	desired := person("guid-1", "ada@acme.example")
	desired.PermissionSets = []string{"Sales_Cloud_User"}
	mustApply(t, c, connectors.Request{Op: connectors.OpUpdate, Desired: desired, Confirmed: &confirmed, Account: acct})
	got := org.assignmentsOf(acct.ExternalID)
	if len(got) != 1 || got[0]["PermissionSetGroupId"] != nil {
		t.Fatalf("assignments = %v; want only Sales_Cloud_User", got)
	}
	// Removing again (the row is gone) is already as wanted.
	mustApply(t, c, connectors.Request{Op: connectors.OpUpdate, Desired: desired, Confirmed: &confirmed, Account: acct})
}

func TestUnknownPermissionSetIsPermanent(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	p := person("guid-1", "ada@acme.example")
	p.PermissionSets = []string{"No_Such_Set"}
	_, err := c.Apply(context.Background(), createReq(p))
	wantClass(t, err, connectors.Permanent, "")
	if slices.Contains(org.callLog(), "POST User") {
		t.Fatal("user created although its permission set does not exist")
	}
}

func TestProfileOwnedPermissionSetsAreNotMappable(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	p := person("guid-1", "ada@acme.example")
	p.PermissionSets = []string{"X00e000000000001"} // the profile's own set
	_, err := c.Apply(context.Background(), createReq(p))
	wantClass(t, err, connectors.Permanent, "")
}
