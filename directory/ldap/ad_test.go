package ldap

import (
	"context"
	"slices"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
)

func TestADFullRead(t *testing.T) {
	env := requireAD(t)
	f := newADFixture(t, env)
	src := newSource(t, env.settings(f.ou, ""), "sAMAccountName", "mail", "thumbnailPhoto", "objectSid", "objectGUID", "managedBy")
	r := fullRead(t, src)

	if len(r.byDN) != 3+3 {
		t.Fatalf("read %d entries, want 3 people and 3 groups: %v", len(r.byDN), keys(r.byDN))
	}
	alice := r.get(t, "CN=alice,"+f.staff)
	if want := guidOf(t, f.conn, "CN=alice,"+f.staff); alice.ID != want {
		t.Errorf("alice ID %s, want objectGUID %s", alice.ID, want)
	}
	assertUUID(t, alice.ID)
	if alice.Attr("thumbnailphoto") != string(binaryPhoto) || len(alice.Attr("objectsid")) != 28 || len(alice.Attr("objectguid")) != 16 {
		t.Errorf("binary values changed: photo %x sid %d bytes guid %d bytes", alice.Attr("thumbnailphoto"), len(alice.Attr("objectsid")), len(alice.Attr("objectguid")))
	}
	if _, ok := r.get(t, "CN=bob,"+f.staff).Attributes["mail"]; ok {
		t.Error("bob has no mail but the entry has one")
	}
	assertMembers(t, r, "CN=outer,"+f.ou, "CN=inner,"+f.ou, "CN=alice,"+f.staff)
	assertMembers(t, r, "CN=inner,"+f.ou, "CN=bob,"+f.staff, "CN=outer,"+f.ou)
	outer := r.get(t, "CN=outer,"+f.ou)
	if got := outer.Attr("managedby"); !strings.EqualFold(got, "CN=alice,"+f.staff) {
		t.Errorf("outer's managedBy = %q, want alice's plain DN", got)
	}
	// AD drops carol from member once primary is her primary group.
	assertMembers(t, r, "CN=primary,"+f.ou)

	if got, want := r.get(t, "CN=carol,"+f.staff).PrimaryGroup, r.get(t, "CN=primary,"+f.ou).ID; got != want {
		t.Errorf("carol's primary group %q, want %q", got, want)
	}
	domainUsers := guidOf(t, f.conn, "CN=Domain Users,CN=Users,"+env.base)
	if got := alice.PrimaryGroup; got != domainUsers {
		t.Errorf("alice's primary group %q, want Domain Users %q", got, domainUsers)
	}
	if !strings.Contains(string(r.cursor), `"usn"`) || !strings.Contains(string(r.cursor), "NTDS Settings") {
		t.Errorf("cursor %s lacks the per-DC USN watermark", r.cursor)
	}
}

func TestADRenameAndMoveKeepID(t *testing.T) {
	env := requireAD(t)
	f := newADFixture(t, env)
	src := newSource(t, env.settings(f.ou, ""), "sAMAccountName")
	before := fullRead(t, src)
	bob, carol := before.get(t, "CN=bob,"+f.staff), before.get(t, "CN=carol,"+f.staff)

	if err := f.conn.ModifyDN(goldap.NewModifyDNRequest("CN=bob,"+f.staff, "CN=Robert", true, "")); err != nil {
		t.Fatal(err)
	}
	if err := f.conn.ModifyDN(goldap.NewModifyDNRequest("CN=carol,"+f.staff, "CN=carol", true, f.other)); err != nil {
		t.Fatal(err)
	}
	after := fullRead(t, src)
	if e := after.byID[bob.ID]; !strings.EqualFold(e.DN, "CN=Robert,"+f.staff) {
		t.Errorf("renamed bob: id %s now at %q", bob.ID, e.DN)
	}
	if e := after.byID[carol.ID]; !strings.EqualFold(e.DN, "CN=carol,"+f.other) || e.PrimaryGroup != carol.PrimaryGroup {
		t.Errorf("moved carol: id %s now %q, primary %q", carol.ID, e.DN, e.PrimaryGroup)
	}
	// AD keeps links by object, so the group follows the rename.
	assertMembers(t, after, "CN=inner,"+f.ou, "CN=Robert,"+f.staff, "CN=outer,"+f.ou)
}

// TestADRangedMembers reads a 5,000-member group. With rangeSize 1000 the
// source must follow member;range=1000-1999 ... itself (Windows cuts at
// 1,500 without being asked; Samba only when asked, so the test asks).
func TestADRangedMembers(t *testing.T) {
	env := requireAD(t)
	ensureADBulk(t, env)
	for _, rangeSize := range []string{"1000", "0"} {
		t.Run("rangeSize="+rangeSize, func(t *testing.T) {
			src := newSource(t, env.settingsFull(bulkOU(env), ", rangeSize: "+rangeSize, 1000, ""), "sAMAccountName")
			r := fullRead(t, src)
			g := r.get(t, "CN=bulk-group,"+bulkOU(env))
			// The first range comes with the search itself.
			if ranged := src.LastRead().RangedReads; (rangeSize == "1000") != (ranged == bulkMembers/1000-1) {
				t.Errorf("rangeSize %s: %d ranged reads", rangeSize, ranged)
			}
			if len(g.Members) != bulkMembers {
				t.Fatalf("bulk group has %d members, want %d", len(g.Members), bulkMembers)
			}
			var people []string
			for id, e := range r.byID {
				if e.Kind == "person" {
					people = append(people, id)
				}
			}
			members := slices.Clone(g.Members)
			slices.Sort(members)
			slices.Sort(people)
			if !slices.Equal(members, people) {
				t.Errorf("member IDs differ from the people's objectGUIDs (%d vs %d)", len(members), len(people))
			}
		})
	}
}

// TestADNestedMembersInChain cross-checks nesting with the DC's own
// IN_CHAIN evaluation: outer holds inner and alice, inner holds bob and
// outer (a cycle), so outer's transitive members are inner, alice, bob and
// outer itself.
func TestADNestedMembersInChain(t *testing.T) {
	env := requireAD(t)
	f := newADFixture(t, env)
	src := newSource(t, env.settings(f.ou, ""))
	got, err := src.NestedMembers(context.Background(), "CN=outer,"+f.ou)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, dn := range []string{"CN=inner," + f.ou, "CN=outer," + f.ou, "CN=alice," + f.staff, "CN=bob," + f.staff} {
		want = append(want, guidOf(t, f.conn, dn))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("IN_CHAIN members of outer = %v, want %v", got, want)
	}
}
