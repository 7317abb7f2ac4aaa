package salesforce

import (
	"context"
	"slices"
	"testing"

	"github.com/dirbridge/dirbridge/connectors"
)

// person is the desired account of a test person.
func person(anchor, userName string) connectors.User {
	return connectors.User{Anchor: anchor, UserName: userName, Active: true, Profile: "Standard User",
		Attributes: map[string]any{"LastName": "Lovelace", "FirstName": "Ada", "Email": userName}}
}

func createReq(u connectors.User) connectors.Request {
	return connectors.Request{ID: 1, App: "salesforce", PersonID: u.Anchor, Op: connectors.OpCreate, Desired: u, Attempt: 1}
}

// mustApply applies req and fails the test on error.
func mustApply(t *testing.T, c *Connector, req connectors.Request) connectors.Account {
	t.Helper()
	acct, err := c.Apply(context.Background(), req)
	if err != nil {
		t.Fatalf("%s: %v", req.Op, err)
	}
	return acct
}

// wantClass fails the test unless err is classified as want with code.
func wantClass(t *testing.T, err error, want connectors.Class, code string) {
	t.Helper()
	got, _ := connectors.ClassOf(err)
	if err == nil || got != want || connectors.CodeOf(err) != code {
		t.Fatalf("error = %v (class %v, code %q); want class %v, code %q", err, got, connectors.CodeOf(err), want, code)
	}
}

func countCalls(log []string, call string) int {
	n := 0
	for _, c := range log {
		if c == call {
			n++
		}
	}
	return n
}

func TestCreateUser(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	acct := mustApply(t, c, createReq(person("guid-1", "ada@acme.example")))
	if acct.ExternalID == "" || acct.Status != connectors.StatusActive || acct.UserName != "ada@acme.example" || acct.Anchor != "guid-1" {
		t.Fatalf("account = %+v", acct)
	}
	u := org.record("User", acct.ExternalID)
	want := map[string]any{"Username": "ada@acme.example", "FederationIdentifier": "guid-1", "LastName": "Lovelace",
		"Email": "ada@acme.example", "Alias": "ada", "TimeZoneSidKey": "GMT", "LocaleSidKey": "en_US",
		"EmailEncodingKey": "UTF-8", "LanguageLocaleKey": "en_US", "IsActive": true,
		"ProfileId": org.idOf("Profile", "Name", "Standard User")}
	for k, v := range want {
		if u[k] != v {
			t.Errorf("User.%s = %v, want %v", k, u[k], v)
		}
	}
}

func TestCreateUsesConfiguredDefaultsAndMappedValues(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t, func(cfg *Config) { cfg.Defaults = map[string]string{"TimeZoneSidKey": "Europe/Paris"} })
	p := person("guid-1", "ada@acme.example")
	p.Attributes["LocaleSidKey"] = "fr_FR"
	p.Attributes["Alias"] = "alove"
	acct := mustApply(t, c, createReq(p))
	u := org.record("User", acct.ExternalID)
	if u["TimeZoneSidKey"] != "Europe/Paris" || u["LocaleSidKey"] != "fr_FR" || u["Alias"] != "alove" || u["LanguageLocaleKey"] != "en_US" {
		t.Fatalf("user = %v", u)
	}
}

func TestCreateAdoptsUserWithSameAnchor(t *testing.T) {
	org := newFakeOrg(t)
	id := org.addUser(map[string]any{"Username": "ada.old@acme.example", "FederationIdentifier": "guid-1"})
	c := org.connector(t)
	acct := mustApply(t, c, createReq(person("guid-1", "ada@acme.example")))
	if acct.ExternalID != id || acct.UserName != "ada@acme.example" {
		t.Fatalf("account = %+v, want the seeded user %s renamed", acct, id)
	}
	if n := countCalls(org.callLog(), "POST User"); n != 0 {
		t.Fatalf("%d User creates, want none", n)
	}
}

func TestCreateRetriedWithVerifyFindsFirstAttempt(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	first := mustApply(t, c, createReq(person("guid-1", "ada@acme.example")))
	req := createReq(person("guid-1", "ada@acme.example"))
	req.Verify, req.Attempt = true, 2
	second := mustApply(t, c, req)
	if second.ExternalID != first.ExternalID {
		t.Fatalf("retry linked %s, first attempt made %s", second.ExternalID, first.ExternalID)
	}
	if n := len(org.rows("User", func(map[string]any) bool { return true })); n != 1 {
		t.Fatalf("%d users in the org, want 1", n)
	}
}

func TestCreateAdoptsSameUsernameWithoutAnchor(t *testing.T) {
	org := newFakeOrg(t)
	id := org.addUser(map[string]any{"Username": "Ada@Acme.example"})
	c := org.connector(t)
	acct := mustApply(t, c, createReq(person("guid-1", "ada@acme.example")))
	if acct.ExternalID != id || org.record("User", id)["FederationIdentifier"] != "guid-1" {
		t.Fatalf("account = %+v; user = %v", acct, org.record("User", id))
	}
}

func TestCreateRefusesUserWithAnotherAnchor(t *testing.T) {
	org := newFakeOrg(t)
	id := org.addUser(map[string]any{"Username": "ada@acme.example", "FederationIdentifier": "guid-leaver"})
	c := org.connector(t)
	_, err := c.Apply(context.Background(), createReq(person("guid-rehire", "ada@acme.example")))
	wantClass(t, err, connectors.Conflict, "")
	if org.record("User", id)["FederationIdentifier"] != "guid-leaver" {
		t.Fatal("the leaver's account was changed")
	}
}

func TestCreateDuplicateUsernameInAnotherOrgIsPermanent(t *testing.T) {
	org := newFakeOrg(t)
	org.otherOrgs["ada@acme.example"] = true
	c := org.connector(t)
	_, err := c.Apply(context.Background(), createReq(person("guid-1", "ada@acme.example")))
	wantClass(t, err, connectors.Permanent, "DUPLICATE_USERNAME")
}

func TestCreateSandboxUsernameSuffix(t *testing.T) {
	org := newFakeOrg(t)
	org.otherOrgs["ada@acme.example"] = true // production has her
	c := org.connector(t, func(cfg *Config) { cfg.UsernameSuffix = ".uat" })
	acct := mustApply(t, c, createReq(person("guid-1", "ada@acme.example")))
	if acct.UserName != "ada@acme.example.uat" || org.record("User", acct.ExternalID)["Username"] != "ada@acme.example.uat" {
		t.Fatalf("account = %+v", acct)
	}
}

func TestCreateWithExternalIDAnchorField(t *testing.T) {
	org := newFakeOrg(t)
	id := org.addUser(map[string]any{"Username": "ada@acme.example", "Dirbridge_Id__c": "guid-1"})
	c := org.connector(t, func(cfg *Config) { cfg.AnchorField = "Dirbridge_Id__c" })
	acct := mustApply(t, c, createReq(person("guid-1", "ada@acme.example")))
	if acct.ExternalID != id || acct.Anchor != "guid-1" {
		t.Fatalf("account = %+v, want %s", acct, id)
	}
	acct = mustApply(t, c, createReq(person("guid-2", "bob@acme.example")))
	if org.record("User", acct.ExternalID)["Dirbridge_Id__c"] != "guid-2" {
		t.Fatal("anchor not written to the External ID field")
	}
}

func TestCreateNeedsAKnownProfile(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	p := person("guid-1", "ada@acme.example")
	p.Profile = "Chatter Wizard"
	_, err := c.Apply(context.Background(), createReq(p))
	wantClass(t, err, connectors.Permanent, "")
	p.Profile = ""
	_, err = c.Apply(context.Background(), createReq(p))
	wantClass(t, err, connectors.Permanent, "")
}

func TestProfileResolvedOnceAndCached(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	mustApply(t, c, createReq(person("guid-1", "ada@acme.example")))
	mustApply(t, c, createReq(person("guid-2", "bob@acme.example")))
	if n := countCalls(org.callLog(), "GET query Profile"); n != 1 {
		t.Fatalf("%d profile queries, want 1", n)
	}
}

func TestCreateOverLicenceLimitIsCapacity(t *testing.T) {
	org := newFakeOrg(t)
	org.licences = 1
	org.addUser(map[string]any{"Username": "admin@acme.example"})
	c := org.connector(t)
	_, err := c.Apply(context.Background(), createReq(person("guid-1", "ada@acme.example")))
	wantClass(t, err, connectors.Capacity, "LICENSE_LIMIT_EXCEEDED")
}

func TestUpdateSendsOnlyChangedAttributes(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	confirmed := person("guid-1", "ada@acme.example")
	acct := mustApply(t, c, createReq(confirmed))
	desired := person("guid-1", "ada@acme.example")
	desired.Attributes["Email"] = "ada.lovelace@acme.example"
	desired.Attributes["LastName"] = "Byron" // not in Changed: must not be sent
	req := connectors.Request{Op: connectors.OpUpdate, Desired: desired, Confirmed: &confirmed,
		Changed: []string{"Email"}, Account: acct}
	got := mustApply(t, c, req)
	u := org.record("User", acct.ExternalID)
	if u["Email"] != "ada.lovelace@acme.example" || u["LastName"] != "Lovelace" || got.Email != "ada.lovelace@acme.example" {
		t.Fatalf("user = %v, account = %+v", u, got)
	}
}

func TestUpdateRenamesAndChangesProfile(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	confirmed := person("guid-1", "ada@acme.example")
	acct := mustApply(t, c, createReq(confirmed))
	desired := person("guid-1", "ada.lovelace@acme.example")
	desired.Profile = "System Administrator"
	got := mustApply(t, c, connectors.Request{Op: connectors.OpUpdate, Desired: desired, Confirmed: &confirmed, Account: acct})
	u := org.record("User", acct.ExternalID)
	if got.UserName != "ada.lovelace@acme.example" || u["ProfileId"] != org.idOf("Profile", "Name", "System Administrator") {
		t.Fatalf("user = %v, account = %+v", u, got)
	}
}

func TestUpdateOfMissingUserIsNotFound(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	p := person("guid-gone", "gone@acme.example")
	_, err := c.Apply(context.Background(), connectors.Request{Op: connectors.OpUpdate, Desired: p,
		Changed: []string{"Email"}, Account: connectors.Account{ExternalID: "005000000000999AAA"}})
	wantClass(t, err, connectors.NotFound, "")
}

func TestUpdateRejectsFieldsTheConnectorOwns(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	confirmed := person("guid-1", "ada@acme.example")
	acct := mustApply(t, c, createReq(confirmed))
	for _, field := range []string{"IsActive", "name.givenName"} {
		desired := person("guid-1", "ada@acme.example")
		desired.Attributes[field] = false
		_, err := c.Apply(context.Background(), connectors.Request{Op: connectors.OpUpdate, Desired: desired,
			Confirmed: &confirmed, Changed: []string{field}, Account: acct})
		wantClass(t, err, connectors.Permanent, "")
	}
	if slices.Contains(org.callLog(), "PATCH User") {
		t.Fatal("a refused update reached the org")
	}
}

func TestFifteenCharacterLinkFindsTheUser(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	confirmed := person("guid-1", "ada@acme.example")
	acct := mustApply(t, c, createReq(confirmed))
	desired := person("guid-other", "ada@acme.example") // the anchor would not find her
	desired.Attributes["Title"] = "CTO"
	link := connectors.Account{ExternalID: acct.ExternalID[:15]}
	got := mustApply(t, c, connectors.Request{Op: connectors.OpUpdate, Desired: desired, Confirmed: &confirmed,
		Changed: []string{"Title"}, Account: link})
	if got.ExternalID != acct.ExternalID || org.record("User", acct.ExternalID)["Title"] != "CTO" {
		t.Fatalf("account = %+v", got)
	}
}

func TestUpdateOfMappedUsernameKeepsSandboxSuffix(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t, func(cfg *Config) { cfg.UsernameSuffix = ".uat" })
	confirmed := person("guid-1", "ada@acme.example")
	confirmed.Attributes["Username"] = "ada@acme.example"
	acct := mustApply(t, c, createReq(confirmed))
	desired := person("guid-1", "ada.l@acme.example")
	desired.Attributes["Username"] = "ada.l@acme.example"
	got := mustApply(t, c, connectors.Request{Op: connectors.OpUpdate, Desired: desired, Confirmed: &confirmed,
		Changed: []string{"Username"}, Account: acct})
	if got.UserName != "ada.l@acme.example.uat" || org.record("User", acct.ExternalID)["Username"] != "ada.l@acme.example.uat" {
		t.Fatalf("account = %+v", got)
	}
}
