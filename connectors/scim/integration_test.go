package scim

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/dirbridge/dirbridge/connectors"
)

// Integration tests against the real SCIM server (Better Auth's SCIM
// plugin) started by scripts/testenv/scim-server.sh. Each reads the
// provider's state back with its own HTTP client and compares it.

func TestIntegrationCreateReadBack(t *testing.T) {
	srv := newRealServer(t)
	c := srv.connector(Config{})
	u := alice()
	u.Groups = []string{"Engineering"}
	acct := mustApply(t, c, connectors.Request{Op: connectors.OpCreate, Desired: u})
	if acct.ExternalID == "" || acct.Status != connectors.StatusActive || acct.Anchor != u.Anchor {
		t.Fatalf("account = %+v", acct)
	}
	r := srv.user(acct.ExternalID)
	wantAttrs(t, r, u)
	if !r.active() {
		t.Error("provider has the user inactive")
	}
	members, err := c.GroupMembers(testCtx(t), "Engineering")
	if err != nil || len(members) != 1 || members[0] != acct.ExternalID {
		t.Errorf("Engineering members = %v, %v; want [%s]", members, err, acct.ExternalID)
	}
}

// A retried Create (Verify after a timeout, or a crash while Provisioning)
// finds the account by anchor and never posts a second one.
func TestIntegrationCreateRetryLinksInsteadOfDuplicating(t *testing.T) {
	srv := newRealServer(t)
	c := srv.connector(Config{})
	first := mustApply(t, c, connectors.Request{Op: connectors.OpCreate, Desired: alice()})
	again := mustApply(t, c, connectors.Request{Op: connectors.OpCreate, Desired: alice(), Verify: true, Attempt: 2})
	if again.ExternalID != first.ExternalID {
		t.Errorf("retry gave id %q, first %q", again.ExternalID, first.ExternalID)
	}
	if n := srv.userCount(); n != 1 {
		t.Errorf("provider has %d users, want 1", n)
	}
}

// An account an admin made by hand (no externalId) with the same userName
// is adopted: the anchor is written and the mapped attributes set.
func TestIntegrationCreateAdoptsUnanchoredMatch(t *testing.T) {
	srv := newRealServer(t)
	c := srv.connector(Config{})
	seeded := srv.seed(resource{"userName": "ALICE@corp.example", "displayName": "Old Name",
		"emails": []any{map[string]any{"type": "work", "value": "alice@corp.example"}}})
	acct := mustApply(t, c, connectors.Request{Op: connectors.OpCreate, Desired: alice()})
	if acct.ExternalID != seeded.id() {
		t.Fatalf("linked %q, want the existing %q", acct.ExternalID, seeded.id())
	}
	wantAttrs(t, srv.user(seeded.id()), alice())
	if n := srv.userCount(); n != 1 {
		t.Errorf("provider has %d users, want 1", n)
	}
}

// An account with the same userName that carries somebody else's anchor (a
// leaver whose login is reused by a re-hire) is never adopted or touched.
func TestIntegrationCreateRefusesConflictingAnchor(t *testing.T) {
	srv := newRealServer(t)
	c := srv.connector(Config{})
	seeded := srv.seed(resource{"userName": "alice@corp.example", "externalId": "guid-leaver", "displayName": "Leaver"})
	_, err := c.Apply(testCtx(t), connectors.Request{Op: connectors.OpCreate, Desired: alice()})
	if class, _ := connectors.ClassOf(err); err == nil || class != connectors.Conflict {
		t.Fatalf("err = %v, want a Conflict", err)
	}
	r := srv.user(seeded.id())
	if r.str("externalId") != "guid-leaver" || r.str("displayName") != "Leaver" {
		t.Errorf("conflicting account was modified: %v", r)
	}
	if n := srv.userCount(); n != 1 {
		t.Errorf("provider has %d users, want 1", n)
	}
}

// userName filters escape `"` and `\` (RFC 7644 section 3.4.2.2), so an
// odd login still links instead of creating a duplicate.
func TestIntegrationCreateEscapesFilterValues(t *testing.T) {
	srv := newRealServer(t)
	c := srv.connector(Config{})
	odd := `o"brien\x@corp.example`
	seeded := srv.seed(resource{"userName": odd, "emails": []any{map[string]any{"type": "work", "value": "obrien@corp.example"}}})
	u := connectors.User{Anchor: "guid-obrien", UserName: odd, Active: true}
	acct := mustApply(t, c, connectors.Request{Op: connectors.OpCreate, Desired: u})
	if acct.ExternalID != seeded.id() {
		t.Fatalf("linked %q, want %q", acct.ExternalID, seeded.id())
	}
	if got := srv.user(seeded.id()).str("externalId"); got != u.Anchor {
		t.Errorf("externalId = %q", got)
	}
}

// A 409 whose holder cannot be linked (another person's work email, this
// server's own uniqueness rule) stays a Conflict and creates nothing.
func TestIntegrationCreateConflictOnOtherPersonsEmail(t *testing.T) {
	srv := newRealServer(t)
	c := srv.connector(Config{})
	srv.seed(resource{"userName": "bob@corp.example", "externalId": "guid-bob",
		"emails": []any{map[string]any{"type": "work", "value": "alice@corp.example"}}})
	_, err := c.Apply(testCtx(t), connectors.Request{Op: connectors.OpCreate, Desired: alice()})
	if class, _ := connectors.ClassOf(err); class != connectors.Conflict || connectors.CodeOf(err) != "409 uniqueness" {
		t.Fatalf("err = %v (code %q), want Conflict 409 uniqueness", err, connectors.CodeOf(err))
	}
	if n := srv.userCount(); n != 1 {
		t.Errorf("provider has %d users, want 1", n)
	}
}

// Update sends only the changed paths: a value an admin set in the app for
// an attribute that did not change in the directory is left alone.
func TestIntegrationUpdatePatchesOnlyChangedPaths(t *testing.T) {
	srv := newRealServer(t)
	c := srv.connector(Config{})
	before := alice()
	acct := mustApply(t, c, connectors.Request{Op: connectors.OpCreate, Desired: before})
	srv.patch(acct.ExternalID, patchOp{Op: "replace", Path: "displayName", Value: "Set In App"})

	after := alice()
	after.UserName = "alice.liddell@corp.example"
	after.Attributes["name.givenName"] = "Alicia"
	after.Attributes[`emails[type eq "work"].value`] = "alicia@corp.example"
	got := mustApply(t, c, connectors.Request{Op: connectors.OpUpdate, Desired: after, Confirmed: &before,
		Account: acct, Changed: []string{"name.givenName", `emails[type eq "work"].value`}})
	if got.ExternalID != acct.ExternalID || got.UserName != after.UserName {
		t.Errorf("account = %+v", got)
	}
	r := srv.user(acct.ExternalID)
	after.Attributes["displayName"] = "Set In App" // not in Changed: untouched
	wantAttrs(t, r, after)
}

// Where PATCH is not used, Update reads, merges and PUTs the whole user, so
// what the mapping does not cover survives.
func TestIntegrationUpdateMergePut(t *testing.T) {
	srv := newRealServer(t)
	c := srv.connector(Config{Patch: "never"})
	before := alice()
	acct := mustApply(t, c, connectors.Request{Op: connectors.OpCreate, Desired: before})
	srv.patch(acct.ExternalID, patchOp{Op: "replace", Path: "displayName", Value: "Set In App"})
	after := alice()
	delete(after.Attributes, "displayName") // not mapped any more
	after.Attributes["name.familyName"] = "Hargreaves"
	mustApply(t, c, connectors.Request{Op: connectors.OpUpdate, Desired: after, Confirmed: &before,
		Account: acct, Changed: []string{"name.familyName"}})
	after.Attributes["displayName"] = "Set In App"
	wantAttrs(t, srv.user(acct.ExternalID), after)
}

func TestIntegrationUpdateMissingIsNotFound(t *testing.T) {
	srv := newRealServer(t)
	c := srv.connector(Config{})
	acct := mustApply(t, c, connectors.Request{Op: connectors.OpCreate, Desired: alice()})
	srv.send("DELETE", srv.url+"/Users/"+acct.ExternalID, nil, nil)
	u := alice()
	_, err := c.Apply(testCtx(t), connectors.Request{Op: connectors.OpUpdate, Desired: u, Confirmed: &u,
		Account: acct, Changed: []string{"name.givenName"}})
	if class, _ := connectors.ClassOf(err); class != connectors.NotFound {
		t.Fatalf("err = %v, want NotFound", err)
	}
}

// Every lifecycle operation in the default (patch-active) profile, with the
// provider's active flag read back after each.
func TestIntegrationLifecyclePatchActive(t *testing.T) {
	// okta: GET-merge-PUT with a path-less active; entra: capitalized ops.
	for _, profile := range []string{"generic", "okta", "entra"} {
		t.Run(profile, func(t *testing.T) { testLifecyclePatchActive(t, profile) })
	}
}

func testLifecyclePatchActive(t *testing.T, profile string) {
	srv := newRealServer(t)
	c := srv.connector(Config{Profile: profile})
	u := alice()
	acct := mustApply(t, c, connectors.Request{Op: connectors.OpCreate, Desired: u})
	steps := []struct {
		op         connectors.Operation
		active     bool
		frozen     bool
		wantStatus connectors.AccountStatus
	}{
		{connectors.OpDeactivate, false, false, connectors.StatusDeactivated},
		{connectors.OpActivate, true, false, connectors.StatusActive},
		{connectors.OpFreeze, true, true, connectors.StatusFrozen},
		{connectors.OpUnfreeze, true, false, connectors.StatusActive},
		{connectors.OpDeactivate, false, false, connectors.StatusDeactivated},
		{connectors.OpReactivate, true, false, connectors.StatusActive},
	}
	for _, s := range steps {
		u.Active, u.Frozen = s.active, s.frozen
		got := mustApply(t, c, connectors.Request{Op: s.op, Desired: u, Account: acct})
		if got.Status != s.wantStatus || got.ExternalID != acct.ExternalID {
			t.Errorf("%s: account = %+v, want status %s", s.op, got, s.wantStatus)
		}
		wantActive := s.wantStatus == connectors.StatusActive
		if r := srv.user(acct.ExternalID); r.active() != wantActive {
			t.Errorf("%s: provider active = %v, want %v", s.op, r.active(), wantActive)
		}
		acct = got
	}
}

// Deactivating an account that is already gone is a success (Deleted).
func TestIntegrationDeactivateGoneAccount(t *testing.T) {
	srv := newRealServer(t)
	c := srv.connector(Config{})
	acct := mustApply(t, c, connectors.Request{Op: connectors.OpCreate, Desired: alice()})
	srv.send("DELETE", srv.url+"/Users/"+acct.ExternalID, nil, nil)
	for _, op := range []connectors.Operation{connectors.OpDeactivate, connectors.OpFreeze} {
		got := mustApply(t, c, connectors.Request{Op: op, Desired: alice(), Account: acct})
		if got.Status != connectors.StatusDeleted {
			t.Errorf("%s: status = %s, want Deleted", op, got.Status)
		}
	}
	_, err := c.Apply(testCtx(t), connectors.Request{Op: connectors.OpUnfreeze, Desired: alice(), Account: acct})
	if class, _ := connectors.ClassOf(err); class != connectors.NotFound {
		t.Errorf("Unfreeze of a gone account: %v, want NotFound", err)
	}
}

// The delete profile (Slack-style): Deactivate sends DELETE and records
// what the provider kept (this server removes the user: Deleted);
// Reactivate re-creates with the same anchor.
func TestIntegrationLifecycleDeleteProfile(t *testing.T) {
	srv := newRealServer(t)
	c := srv.connector(Config{Deactivate: "delete"})
	u := alice()
	acct := mustApply(t, c, connectors.Request{Op: connectors.OpCreate, Desired: u})
	got := mustApply(t, c, connectors.Request{Op: connectors.OpDeactivate, Desired: u, Account: acct})
	if got.Status != connectors.StatusDeleted || srv.user(acct.ExternalID) != nil {
		t.Fatalf("after Deactivate: %+v, provider still has the user: %v", got, srv.user(acct.ExternalID) != nil)
	}
	back := mustApply(t, c, connectors.Request{Op: connectors.OpReactivate, Desired: u, Account: got})
	if back.ExternalID == "" || back.ExternalID == acct.ExternalID || back.Status != connectors.StatusActive {
		t.Fatalf("Reactivate: %+v", back)
	}
	wantAttrs(t, srv.user(back.ExternalID), u)
}

// delete-on-inactive: Deactivate sends active=false and records Deleted
// (such a provider removes the account); Activate goes through the Create
// path, linking the account by anchor while it still exists.
func TestIntegrationLifecycleDeleteOnInactive(t *testing.T) {
	srv := newRealServer(t)
	c := srv.connector(Config{Deactivate: "delete-on-inactive"})
	u := alice()
	acct := mustApply(t, c, connectors.Request{Op: connectors.OpCreate, Desired: u})
	got := mustApply(t, c, connectors.Request{Op: connectors.OpDeactivate, Desired: u, Account: acct})
	if got.Status != connectors.StatusDeleted || srv.user(acct.ExternalID).active() {
		t.Fatalf("after Deactivate: %+v", got)
	}
	back := mustApply(t, c, connectors.Request{Op: connectors.OpActivate, Desired: u, Account: got})
	if back.ExternalID != acct.ExternalID || !srv.user(acct.ExternalID).active() {
		t.Fatalf("Activate: %+v", back)
	}
	_, err := c.Apply(testCtx(t), connectors.Request{Op: connectors.OpFreeze, Desired: u, Account: back})
	if class, _ := connectors.ClassOf(err); class != connectors.Permanent || !srv.user(acct.ExternalID).active() {
		t.Errorf("Freeze without a suspend attribute: %v; must refuse rather than delete", err)
	}
}

// The none profile leaves the account as it is and says so truthfully.
func TestIntegrationLifecycleNone(t *testing.T) {
	srv := newRealServer(t)
	c := srv.connector(Config{Deactivate: "none"})
	acct := mustApply(t, c, connectors.Request{Op: connectors.OpCreate, Desired: alice()})
	got := mustApply(t, c, connectors.Request{Op: connectors.OpDeactivate, Desired: alice(), Account: acct})
	if got.Status != connectors.StatusActive || !srv.user(acct.ExternalID).active() {
		t.Errorf("none profile: %+v", got)
	}
}

// Update moves group memberships by delta and never replaces a member list.
func TestIntegrationUpdateGroupDeltas(t *testing.T) {
	for _, profile := range []string{"generic", "entra"} { // filter-path and value-list removal
		t.Run(profile, func(t *testing.T) {
			srv := newRealServer(t)
			c := srv.connector(Config{Profile: profile})
			other := mustApply(t, c, connectors.Request{Op: connectors.OpCreate, Desired: bob([]string{"A", "B"})})
			before := alice()
			before.Groups = []string{"A", "B"}
			acct := mustApply(t, c, connectors.Request{Op: connectors.OpCreate, Desired: before})
			after := alice()
			after.Groups = []string{"b", "C"} // names compare case-insensitively
			mustApply(t, c, connectors.Request{Op: connectors.OpUpdate, Desired: after, Confirmed: &before, Account: acct})
			wantMembers(t, c, "A", other.ExternalID)
			wantMembers(t, c, "B", acct.ExternalID, other.ExternalID)
			wantMembers(t, c, "C", acct.ExternalID)
		})
	}
}

func bob(groups []string) connectors.User {
	return connectors.User{Anchor: "guid-bob", UserName: "bob@corp.example", Active: true, Groups: groups,
		Attributes: map[string]any{`emails[type eq "work"].value`: "bob@corp.example"}}
}

func wantMembers(t *testing.T, c *Connector, group string, ids ...string) {
	t.Helper()
	got, err := c.GroupMembers(testCtx(t), group)
	if err != nil {
		t.Fatalf("members of %s: %v", group, err)
	}
	sort.Strings(got)
	sort.Strings(ids)
	if fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Errorf("members of %s = %v, want %v", group, got, ids)
	}
}

// Member add and remove go in chunks; adding twice is a success.
func TestIntegrationGroupMembersInChunks(t *testing.T) {
	for _, profile := range []string{"generic", "slack"} {
		t.Run(profile, func(t *testing.T) {
			srv := newRealServer(t)
			c := srv.connector(Config{Profile: profile, Groups: GroupsConfig{MemberChunk: 3}})
			ids := seedUsers(t, c, 7)
			ctx := testCtx(t)
			if err := c.AddMembers(ctx, "Staff", ids); err != nil {
				t.Fatal(err)
			}
			if err := c.AddMembers(ctx, "Staff", ids[:2]); err != nil {
				t.Fatalf("adding existing members again: %v", err)
			}
			wantMembers(t, c, "Staff", ids...)
			if err := c.RemoveMembers(ctx, "Staff", ids[:4]); err != nil {
				t.Fatal(err)
			}
			wantMembers(t, c, "Staff", ids[4:]...)
			if err := c.RemoveMembers(ctx, "No Such Group", ids); err != nil {
				t.Errorf("removing from a missing group: %v", err)
			}
			if g, _ := c.FindGroup(ctx, "No Such Group"); g != nil {
				t.Error("removal created a group")
			}
		})
	}
}

func seedUsers(t *testing.T, c *Connector, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		u := connectors.User{Anchor: fmt.Sprintf("guid-%d", i), UserName: fmt.Sprintf("user%d@corp.example", i), Active: true}
		ids[i] = mustApply(t, c, connectors.Request{Op: connectors.OpCreate, Desired: u}).ExternalID
	}
	return ids
}

// Listing pages with 1-based startIndex until totalResults.
func TestIntegrationListAccountsAndGroups(t *testing.T) {
	srv := newRealServer(t)
	c := srv.connector(Config{PageSize: 3})
	ids := seedUsers(t, c, 7)
	ctx := testCtx(t)
	for _, g := range []string{"G1", "G2", "G3", "G4"} {
		if err := c.AddMembers(ctx, g, ids[:1]); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	err := c.ListAccounts(ctx, func(a connectors.Account) error {
		if a.Anchor == "" || a.UserName == "" || a.Status != connectors.StatusActive {
			t.Errorf("listed %+v", a)
		}
		got = append(got, a.ExternalID)
		return nil
	})
	sort.Strings(got)
	sort.Strings(ids)
	if err != nil || fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Errorf("ListAccounts = %v, %v; want %v", got, err, ids)
	}
	var groups []string
	err = c.ListGroups(ctx, func(g Group) error { groups = append(groups, g.DisplayName); return nil })
	sort.Strings(groups)
	if err != nil || fmt.Sprint(groups) != "[G1 G2 G3 G4]" {
		t.Errorf("ListGroups = %v, %v", groups, err)
	}
	stop := errors.New("stop")
	if err := c.ListAccounts(ctx, func(connectors.Account) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("ListAccounts did not pass the callback's error back: %v", err)
	}
}

func TestIntegrationDiscoveryAndProbe(t *testing.T) {
	srv := newRealServer(t)
	c := srv.connector(Config{PageSize: 500})
	spc, err := c.Discover(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if !spc.Patch.Supported || spc.Bulk.Supported || spc.ETag.Supported || spc.Filter.MaxResults != 100 ||
		spc.Endpoint != "/ServiceProviderConfig" {
		t.Errorf("ServiceProviderConfig = %+v", spc)
	}
	if n := c.pageSize(testCtx(t)); n != 100 {
		t.Errorf("page size = %d, want it capped at maxResults 100", n)
	}
	if err := c.Probe(testCtx(t)); err != nil {
		t.Errorf("Probe: %v", err)
	}
	bad := srv.connector(Config{})
	bad.client = newClient(settings{base: bad.s.base, timeout: bad.s.timeout,
		auth: AuthConfig{BearerToken: secret("wrong")}}, bad.log)
	if err := bad.Probe(testCtx(t)); connectors.CodeOf(err) != "401" {
		t.Errorf("Probe with a wrong token: %v", err)
	}
}

// linkByEmail adopts an unanchored account whose work email matches when
// the userName does not (an app whose logins differ from the directory's).
func TestIntegrationLinkByEmail(t *testing.T) {
	srv := newRealServer(t)
	seeded := srv.seed(resource{"userName": "aliddell@corp.example",
		"emails": []any{map[string]any{"type": "work", "value": "alice@corp.example"}}})
	off := srv.connector(Config{})
	_, err := off.Apply(testCtx(t), connectors.Request{Op: connectors.OpCreate, Desired: alice()})
	if class, _ := connectors.ClassOf(err); class != connectors.Conflict {
		t.Fatalf("without linkByEmail: %v, want the 409 on the email to stand as a Conflict", err)
	}
	c := srv.connector(Config{LinkByEmail: true})
	acct := mustApply(t, c, connectors.Request{Op: connectors.OpCreate, Desired: alice()})
	if acct.ExternalID != seeded.id() {
		t.Fatalf("linked %q, want %q", acct.ExternalID, seeded.id())
	}
	wantAttrs(t, srv.user(seeded.id()), alice())
}

// Unfreezing a person who was disabled meanwhile leaves the account
// inactive: the freeze was active=false, and so is the person.
func TestIntegrationUnfreezeOfADisabledPerson(t *testing.T) {
	srv := newRealServer(t)
	c := srv.connector(Config{})
	u := alice()
	acct := mustApply(t, c, connectors.Request{Op: connectors.OpCreate, Desired: u})
	u.Frozen = true
	acct = mustApply(t, c, connectors.Request{Op: connectors.OpFreeze, Desired: u, Account: acct})
	u.Frozen, u.Active = false, false
	got := mustApply(t, c, connectors.Request{Op: connectors.OpUnfreeze, Desired: u, Account: acct})
	if got.Status != connectors.StatusDeactivated || srv.user(acct.ExternalID).active() {
		t.Errorf("Unfreeze of a disabled person: %+v, provider active %v", got, srv.user(acct.ExternalID).active())
	}
}

// A stored link is followed first: the account it names is brought to the
// desired state even when its userName no longer matches (renamed in the
// app), and one carrying another anchor is still refused.
func TestIntegrationCreateFollowsStoredLink(t *testing.T) {
	srv := newRealServer(t)
	c := srv.connector(Config{})
	linked := srv.seed(resource{"userName": "renamed-in-app@corp.example"})
	acct := mustApply(t, c, connectors.Request{Op: connectors.OpCreate, Desired: alice(), Verify: true,
		Account: connectors.Account{ExternalID: linked.id()}})
	if acct.ExternalID != linked.id() {
		t.Fatalf("linked %q, want the stored link %q", acct.ExternalID, linked.id())
	}
	wantAttrs(t, srv.user(linked.id()), alice())

	other := srv.seed(resource{"userName": "bob@corp.example", "externalId": "guid-bob"})
	_, err := c.Apply(testCtx(t), connectors.Request{Op: connectors.OpCreate, Desired: alice(), Verify: true,
		Account: connectors.Account{ExternalID: other.id()}})
	if class, _ := connectors.ClassOf(err); class != connectors.Conflict || srv.user(other.id()).str("userName") != "bob@corp.example" {
		t.Errorf("stored link to another anchor's account: %v", err)
	}
}

// Workers creating people concurrently into one new group: the group is
// created once (the losers of the race get a 409 and look it up) and
// holds everyone.
func TestIntegrationConcurrentCreatesShareOneNewGroup(t *testing.T) {
	srv := newRealServer(t)
	c := srv.connector(Config{})
	const n = 8
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := connectors.User{Anchor: fmt.Sprintf("guid-%d", i), UserName: fmt.Sprintf("p%d@corp.example", i),
				Active: true, Groups: []string{"Everyone"}}
			acct, err := c.Apply(testCtx(t), connectors.Request{Op: connectors.OpCreate, Desired: u})
			ids[i], errs[i] = acct.ExternalID, err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	wantMembers(t, c, "Everyone", ids...)
	var groups int
	_ = c.ListGroups(testCtx(t), func(Group) error { groups++; return nil })
	if groups != 1 {
		t.Errorf("%d groups, want 1", groups)
	}
}
