package mapping

import (
	"fmt"
	"testing"
	"time"
)

var benchGroups = dirGroups{"CN=Tier0 Admins,OU=Groups,DC=corp,DC=example", "CN=Slack Users,OU=Groups,DC=corp,DC=example",
	"CN=Sales Managers,OU=Groups,DC=corp,DC=example", "CN=All Staff,OU=Groups,DC=corp,DC=example"}

// benchIndex gives every person the same memberships, as a lookup in the
// agent's index would: the cost measured is the mapping's.
type benchIndex struct{ direct, nested []string }

func (b benchIndex) Groups(_ string, nested bool) ([]string, error) {
	if nested {
		return b.nested, nil
	}
	return b.direct, nil
}

func benchPeople(n int) []Person {
	people := make([]Person, n)
	depts := []string{"Sales", "IT", "Finance", "Marketing"}
	for i := range people {
		id := fmt.Sprintf("%016d", i)
		people[i] = Person{ID: id, DN: fmt.Sprintf("CN=User %d,OU=Staff,DC=corp,DC=example", i), Attributes: map[string][]string{
			"objectguid": {id}, "samaccountname": {fmt.Sprintf("User%d", i)}, "givenname": {"Zoë"},
			"sn": {fmt.Sprintf("Ångström%d", i)}, "mail": {fmt.Sprintf("User%d@Corp.Example", i)},
			"objectcategory":     {"CN=Person,CN=Schema,CN=Configuration,DC=corp,DC=example"},
			"objectclass":        {"top", "person", "organizationalPerson", "user"},
			"useraccountcontrol": {"512"}, "accountexpires": {"0"}, "department": {depts[i%len(depts)]},
			"title": {"engineer"}, "telephonenumber": {"+1 555 0100"}, "l": {"Berlin"},
			"proxyaddresses": {fmt.Sprintf("SMTP:user%d@corp.example", i), fmt.Sprintf("smtp:u%d@corp.example", i)},
		}}
	}
	return people
}

// BenchmarkEvaluate evaluates a typical mapping (20 attributes, 3 apps) over
// 100,000 people and reports people/s. docs/performance-mapping.md has the
// command and the result.
func BenchmarkEvaluate(b *testing.B) {
	m, err := Load([]string{"testdata/bench/typical.yaml"}, benchGroups)
	if err != nil {
		b.Fatal(err)
	}
	people := benchPeople(100_000)
	idx := benchIndex{
		direct: []string{"gid:cn=slack users,ou=groups,dc=corp,dc=example"},
		nested: []string{"gid:cn=slack users,ou=groups,dc=corp,dc=example", "gid:cn=all staff,ou=groups,dc=corp,dc=example"},
	}
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	start, startCPU := time.Now(), processCPU()
	for i := 0; i < b.N; i++ {
		r, err := m.Evaluate(people[i%len(people)], idx, now)
		if err != nil || !r.Apps["zoom"].Assigned {
			b.Fatalf("%+v %v", r, err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "people/s")
	// With GOMAXPROCS=1 the process's CPU time (garbage collection
	// included) is one core's work, without the time spent waiting for it.
	if cpu := processCPU() - startCPU; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "people/cpu-s")
	}
}

// TestTypicalMapping checks the benchmark's mapping gives what it should, so
// the benchmark measures real work.
func TestTypicalMapping(t *testing.T) {
	m, err := Load([]string{"testdata/bench/typical.yaml"}, benchGroups)
	if err != nil {
		t.Fatal(err)
	}
	p := benchPeople(2)[1]
	r, err := m.Evaluate(p, benchIndex{nested: []string{"gid:cn=all staff,ou=groups,dc=corp,dc=example"}}, fnNow)
	if err != nil {
		t.Fatal(err)
	}
	zoom := r.Apps["zoom"].User.Attributes
	if len(zoom) != 7 || zoom["title"] != "Engineer" || zoom["name.familyName"] != "Angstrom1" ||
		fmt.Sprint(zoom["emails"]) != "[user1@corp.example u1@corp.example]" {
		t.Fatalf("zoom = %v", zoom)
	}
	if r.Apps["slack"].Assigned || r.Apps["salesforce"].Assigned {
		t.Fatalf("department IT and no groups: %+v", r.Apps)
	}
	n := 0
	for _, a := range []string{"slack", "salesforce", "zoom"} {
		n += len(r.Apps[a].User.Attributes)
	}
	if n != 7 {
		t.Fatalf("only zoom is assigned, got %d attributes", n)
	}
}

// TestDirectReads pins which expressions skip the VM: the benchmark target
// depends on it.
func TestDirectReads(t *testing.T) {
	var errs errorList
	c := newCompiler(&errs, AnyGroup{})
	all := exprCtx{what: "x", visible: len(identityFields)}
	cases := map[string]bool{
		`title`: true, `identity.userName`: true, `identity.active`: true, `"Sales"`: true, `true`: true,
		`lower(mail)`: true, `left(normalize(sn), 8)`: false, `coalesce(telephoneNumber, mobile, "none")`: true,
		`normalize(identity.givenName)`: true, `title + "x"`: false, `memberOf("CN=A,DC=x")`: false,
	}
	for src, direct := range cases {
		p := c.compile(text{value: src}, all, kindValue)
		if p == nil {
			t.Fatalf("%s: %v", src, errs.err())
		}
		if (p.direct != nil) != direct {
			t.Errorf("%s: direct = %v, want %v", src, p.direct != nil, direct)
		}
	}
}
