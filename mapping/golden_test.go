package mapping

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// goldenPeople is testdata/golden/people.json.
type goldenPeople struct {
	Now    time.Time           `json:"now"`
	Groups []string            `json:"groups"`
	Nested map[string][]string `json:"nested"`
	Taken  map[string]string   `json:"taken"`
	People []struct {
		ID         string              `json:"id"`
		DN         string              `json:"dn"`
		MemberOf   []string            `json:"memberOf"`
		Attributes map[string][]string `json:"attributes"`
	} `json:"people"`
}

type goldenResult struct {
	ID     string  `json:"id"`
	Result *Result `json:"result,omitempty"`
	Error  string  `json:"error,omitempty"`
}

// TestGoldenExample evaluates examples/mapping.yaml over the entries of
// testdata/golden/people.json and compares every result with
// testdata/golden/example.golden.json (go test -update rewrites it; review
// the diff).
func TestGoldenExample(t *testing.T) {
	var in goldenPeople
	data, err := os.ReadFile("testdata/golden/people.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &in); err != nil {
		t.Fatal(err)
	}
	m, err := Load([]string{filepath.Join("..", "examples", "mapping.yaml")}, dirGroups(in.Groups))
	if err != nil {
		t.Fatal(err)
	}
	mem := goldenIndex(t, in)
	var out []goldenResult
	for _, p := range in.People {
		person := Person{ID: p.ID, DN: p.DN, Attributes: map[string][]string{}}
		for k, v := range p.Attributes {
			person.Attributes[strings.ToLower(k)] = v // the agent's snapshot keys are lower case
		}
		mem.direct[p.ID] = gids(t, p.MemberOf)
		r, err := m.Evaluate(person, mem, in.Now)
		g := goldenResult{ID: p.ID, Result: &r}
		if err != nil {
			g = goldenResult{ID: p.ID, Error: err.Error()}
		}
		out = append(out, g)
	}
	compareGolden(t, "testdata/golden/example.golden.json", out)
}

func goldenIndex(t *testing.T, in goldenPeople) *memIndex {
	mem := &memIndex{direct: map[string][]string{}, parent: map[string][]string{}, taken: in.Taken}
	for g, parents := range in.Nested {
		mem.parent[gids(t, []string{g})[0]] = gids(t, parents)
	}
	return mem
}

func gids(t *testing.T, dns []string) []string {
	var out []string
	for _, dn := range dns {
		n, err := normalizeDN(dn)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, "gid:"+n)
	}
	return out
}

func compareGolden(t *testing.T, path string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it; review the diff):\n%s", path, got)
	}
}

// TestGoldenFunctions evaluates testdata/golden/functions.yaml (one app
// attribute per function) over the same entries; people whose data a
// function rejects (frank's date) show the error instead.
func TestGoldenFunctions(t *testing.T) {
	var in goldenPeople
	data, err := os.ReadFile("testdata/golden/people.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &in); err != nil {
		t.Fatal(err)
	}
	m, err := Load([]string{"testdata/golden/functions.yaml"}, dirGroups(in.Groups))
	if err != nil {
		t.Fatal(err)
	}
	mem := goldenIndex(t, in)
	out := map[string]any{}
	for _, p := range in.People {
		person := Person{ID: p.ID, DN: p.DN, Attributes: map[string][]string{}}
		for k, v := range p.Attributes {
			person.Attributes[strings.ToLower(k)] = v
		}
		mem.direct[p.ID] = gids(t, p.MemberOf)
		r, err := m.Evaluate(person, mem, in.Now)
		if err != nil {
			out[p.ID] = err.Error()
			continue
		}
		out[p.ID] = map[string]any{"userName": r.Identity.UserName, "protected": r.Identity.Protected,
			"active": r.Identity.Active, "nextChange": r.NextChange, "fn": r.Apps["fn"].User.Attributes}
	}
	compareGolden(t, "testdata/golden/functions.golden.json", out)
}

// TestEveryFunctionCovered: each function admins can call has a golden
// attribute in functions.yaml and a row in docs/mapping.md.
func TestEveryFunctionCovered(t *testing.T) {
	golden, err := os.ReadFile("testdata/golden/functions.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../docs/mapping.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range publicFunctions() {
		if !strings.Contains(string(golden), "\n      "+fn+": ") {
			t.Errorf("function %s has no attribute in testdata/golden/functions.yaml", fn)
		}
		if !strings.Contains(string(doc), "`"+fn+"(") {
			t.Errorf("function %s is not documented in docs/mapping.md", fn)
		}
	}
}
