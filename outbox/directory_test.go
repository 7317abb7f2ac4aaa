package outbox

import (
	"reflect"
	"testing"
	"time"
)

func TestMembershipIndex(t *testing.T) {
	s, _ := openTest(t)
	update(t, s, func(tx *Tx) error {
		for _, g := range []GroupInfo{{ID: "g-staff", DN: "CN=Staff,OU=Groups,DC=corp"}, {ID: "g-sales", DN: "CN=Sales,OU=Groups,DC=corp"},
			{ID: "g-emea", DN: "CN=EMEA Sales,OU=Groups,DC=corp"}, {ID: "g-users", DN: "CN=Domain Users,CN=Users,DC=corp"}} {
			if err := tx.PutGroup(g); err != nil {
				return err
			}
		}
		if err := tx.PutPerson(Snapshot{ID: "alice", DN: "CN=Alice,OU=Staff,DC=corp", PrimaryGroup: "g-users"}); err != nil {
			return err
		}
		// staff contains sales, sales contains emea, emea contains staff (a cycle), alice in emea
		for g, m := range map[string][]string{"g-staff": {"g-sales"}, "g-sales": {"g-emea", "bob"}, "g-emea": {"alice", "g-staff"}} {
			if _, _, err := tx.SetMembers(g, m); err != nil {
				return err
			}
		}
		return nil
	})
	cases := []struct {
		name   string
		id     string
		nested bool
		want   []string
	}{
		{"direct plus primary group", "alice", false, []string{"g-emea", "g-users"}},
		{"nested through a cycle", "alice", true, []string{"g-emea", "g-sales", "g-staff", "g-users"}},
		{"nested of a person without primary group", "bob", true, []string{"g-emea", "g-sales", "g-staff"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_ = s.View(func(tx *Tx) error {
				got, err := tx.MemberGroups(c.id, c.nested)
				if err != nil || !reflect.DeepEqual(got, c.want) {
					t.Errorf("MemberGroups(%s, %v) = %v, %v; want %v", c.id, c.nested, got, err, c.want)
				}
				return nil
			})
		})
	}
	update(t, s, func(tx *Tx) error {
		if got := tx.PeopleUnder("g-staff"); !reflect.DeepEqual(got, []string{"alice", "bob", "g-emea", "g-sales", "g-staff"}) {
			t.Errorf("PeopleUnder(staff) = %v", got)
		}
		added, removed, err := tx.SetMembers("g-sales", []string{"g-emea", "carol"})
		if !reflect.DeepEqual(added, []string{"carol"}) || !reflect.DeepEqual(removed, []string{"bob"}) {
			t.Errorf("SetMembers diff = +%v -%v", added, removed)
		}
		if id, ok := tx.IDByDN("cn=emea sales, ou=groups,dc=corp"); !ok || id != "g-emea" {
			t.Errorf("IDByDN = %q %v", id, ok)
		}
		groups, err2 := tx.DropMemberships("alice")
		if !reflect.DeepEqual(groups, []string{"g-emea"}) || err2 != nil {
			t.Errorf("DropMemberships = %v %v", groups, err2)
		}
		return err
	})
}

func TestRenameMovesTheDNIndex(t *testing.T) {
	s, _ := openTest(t)
	update(t, s, func(tx *Tx) error {
		if err := tx.PutPerson(Snapshot{ID: "p", DN: "CN=Old,OU=A,DC=corp"}); err != nil {
			return err
		}
		return tx.PutPerson(Snapshot{ID: "p", DN: "CN=New,OU=B,DC=corp"})
	})
	_ = s.View(func(tx *Tx) error {
		if _, ok := tx.IDByDN("CN=Old,OU=A,DC=corp"); ok {
			t.Error("old DN still resolves after a rename")
		}
		if id, ok := tx.IDByDN("cn=new,ou=b,dc=corp"); !ok || id != "p" {
			t.Errorf("new DN resolves to %q", id)
		}
		return nil
	})
}

func TestTimers(t *testing.T) {
	s, clk := openTest(t)
	now := clk.Now()
	update(t, s, func(tx *Tx) error {
		if err := tx.SetTimer("a", now.Add(time.Hour)); err != nil {
			return err
		}
		if err := tx.SetTimer("b", now.Add(2*time.Hour)); err != nil {
			return err
		}
		return tx.SetTimer("a", now.Add(3*time.Hour)) // replaces a's first timer
	})
	_ = s.View(func(tx *Tx) error {
		if got := tx.DueTimers(now.Add(90*time.Minute), 10); len(got) != 0 {
			t.Errorf("due at +90m: %v, want none (a moved to +3h)", got)
		}
		if got := tx.DueTimers(now.Add(3*time.Hour), 10); !reflect.DeepEqual(got, []string{"b", "a"}) {
			t.Errorf("due at +3h: %v, want [b a]", got)
		}
		if next, ok := tx.NextTimer(); !ok || !next.Equal(now.Add(2*time.Hour)) {
			t.Errorf("NextTimer = %v %v", next, ok)
		}
		return nil
	})
	update(t, s, func(tx *Tx) error { return tx.SetTimer("b", time.Time{}) })
	_ = s.View(func(tx *Tx) error {
		if got := tx.DueTimers(now.Add(3*time.Hour), 10); !reflect.DeepEqual(got, []string{"a"}) {
			t.Errorf("after clearing b: %v", got)
		}
		return nil
	})
}

func TestBinaryAttributesSurviveTheStore(t *testing.T) {
	s, _ := openTest(t)
	guid := string([]byte{0xa2, 0x8f, 0xb6, 0x70, 0xcf, 0xa3, 0xe3, 0x0e, 0x55, 0xad, 0x10, 0xef, 0x96, 0x30, 0xe8, 0xff})
	in := Snapshot{ID: "p", DN: "CN=p", Attributes: Attributes{"objectguid": {guid}, "cn": {"Zoë"}, "empty": {""}}}
	update(t, s, func(tx *Tx) error { return tx.PutPerson(in) })
	_ = s.View(func(tx *Tx) error {
		got, _, err := tx.Person("p")
		if err != nil || got.Attributes["objectguid"][0] != guid || got.Attributes["cn"][0] != "Zoë" || got.Attributes["empty"][0] != "" {
			t.Errorf("round trip: %q %v", got.Attributes, err)
		}
		return nil
	})
}

func TestTakenValues(t *testing.T) {
	s, _ := openTest(t)
	update(t, s, func(tx *Tx) error {
		if err := tx.SetHoldings("ann", []Holding{{"", "userName", "JDoe"}, {"slack", "userName", "jdoe@x"}}); err != nil {
			return err
		}
		if !tx.Taken("", "userName", "jdoe", "bob") || tx.Taken("", "userName", "jdoe", "ann") || tx.Taken("zoom", "userName", "jdoe@x", "bob") {
			t.Error("taken answers wrong")
		}
		// bob asks for the same value: ann keeps it.
		if err := tx.SetHoldings("bob", []Holding{{"", "userName", "jdoe"}}); err != nil {
			return err
		}
		if !tx.Taken("", "userName", "jdoe", "bob") {
			t.Error("the first holder must keep the value")
		}
		// ann gives it up: it is free.
		if err := tx.SetHoldings("ann", nil); err != nil {
			return err
		}
		if tx.Taken("", "userName", "jdoe", "bob") {
			t.Error("a released value is still taken")
		}
		// bob is re-planned with the same values: now he holds it.
		if err := tx.SetHoldings("bob", []Holding{{"", "userName", "jdoe"}}); err != nil {
			return err
		}
		if !tx.Taken("", "userName", "jdoe", "carol") {
			t.Error("bob should hold the released value now")
		}
		return nil
	})
}
