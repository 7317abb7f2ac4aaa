package ldap

import (
	"context"
	"slices"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"

	"github.com/dirbridge/dirbridge/directory"
)

func TestCutRanges(t *testing.T) {
	for _, tc := range []struct {
		in    []uint64
		limit int
		want  [][2]uint64
	}{
		{nil, 3, nil},
		{[]uint64{1, 2, 3}, 3, [][2]uint64{{1, 3}}},
		{[]uint64{1, 2, 3, 4}, 3, [][2]uint64{{1, 3}, {4, 4}}},
		// equal USNs never straddle two pages: the watermark after the
		// first page must not skip the second 3.
		{[]uint64{1, 2, 3, 3, 4}, 3, [][2]uint64{{1, 3}, {4, 4}}},
		{[]uint64{5, 5, 5, 5}, 2, [][2]uint64{{5, 5}}},
	} {
		if got := cutRanges(tc.in, tc.limit); !slices.Equal(got, tc.want) {
			t.Errorf("cutRanges(%v, %d) = %v, want %v", tc.in, tc.limit, got, tc.want)
		}
	}
}

func guidDN(guid, dn string) string { return "<GUID=" + guid + ">;" + dn }

// TestDirSyncEntry: incremental member values become deltas, a plain
// member attribute the whole list, a cleared attribute stays present with
// no values, and tombstones and entries outside the base are deletions.
func TestDirSyncEntry(t *testing.T) {
	const g, u1, u2 = "11111111-2222-3333-4444-555555555555", "aaaaaaaa-0000-0000-0000-000000000001", "aaaaaaaa-0000-0000-0000-000000000002"
	raw := func(dn string, attrs map[string][]string) *goldap.Entry {
		b, _ := GUIDBytes(g)
		e := &goldap.Entry{DN: guidDN(g, dn), Attributes: []*goldap.EntryAttribute{{Name: "objectGUID", Values: []string{string(b)}, ByteValues: [][]byte{b}}}}
		for k, v := range attrs {
			e.Attributes = append(e.Attributes, &goldap.EntryAttribute{Name: k, Values: v})
		}
		return e
	}
	r := &reader{sess: &session{flavor: FlavorAD, baseDN: "DC=x"}, cfg: &Config{People: Search{Base: "OU=In,DC=x"}, Groups: Groups{Search: Search{Base: "OU=In,DC=x"}}},
		log: zerolog.Nop(), idAttr: "objectguid"}
	ctx := context.Background()

	var p directory.Page
	delta := raw("CN=g,OU=In,DC=x", map[string][]string{"member;range=1-1": {guidDN(u1, "CN=u1,DC=x")}, "member;range=0-0": {guidDN(u2, "CN=u2,DC=x")}, "description": nil})
	if err := r.addDirSyncEntry(ctx, delta, directory.KindGroup, &p); err != nil {
		t.Fatal(err)
	}
	e := p.Entries[0]
	if !e.Partial || !e.MembersDelta || !slices.Equal(e.MembersAdded, []string{u1}) || !slices.Equal(e.MembersRemoved, []string{u2}) || e.Members != nil {
		t.Errorf("delta group: %+v", e)
	}
	if v, ok := e.Attributes["description"]; !ok || len(v) != 0 {
		t.Errorf("a cleared attribute must stay present with no values: %v", e.Attributes)
	}
	p = directory.Page{}
	whole := raw("CN=g,OU=In,DC=x", map[string][]string{"member": {guidDN(u1, "CN=u1,DC=x")}})
	if err := r.addDirSyncEntry(ctx, whole, directory.KindGroup, &p); err != nil {
		t.Fatal(err)
	}
	if e := p.Entries[0]; e.MembersDelta || !slices.Equal(e.Members, []string{u1}) {
		t.Errorf("whole member list: %+v", e)
	}
	p = directory.Page{}
	for _, d := range []*goldap.Entry{
		raw("CN=g\\0ADEL:x,CN=Deleted Objects,DC=x", map[string][]string{"isDeleted": {"TRUE"}}),
		raw("CN=g,OU=Out,DC=x", map[string][]string{"description": {"moved"}}),
	} {
		if err := r.addDirSyncEntry(ctx, d, directory.KindGroup, &p); err != nil {
			t.Fatal(err)
		}
	}
	if len(p.Entries) != 0 || !slices.Equal(p.Deleted, []string{g, g}) {
		t.Errorf("tombstone and move out of scope: %+v", p)
	}
	// Only attributes the mapping does not read changed: nothing to hand on.
	p = directory.Page{}
	if err := r.addDirSyncEntry(ctx, raw("CN=g,OU=In,DC=x", map[string][]string{"instanceType": {"4"}}), directory.KindGroup, &p); err != nil || len(p.Entries)+len(p.Deleted) != 0 {
		t.Errorf("an entry with no requested change: %+v, %v", p, err)
	}
}
