package mapping

import (
	"fmt"
	"sort"
	"strings"
)

// memIndex is a Memberships for tests: person id -> direct groups, plus
// group -> parent groups for nesting. It also answers Uniqueness from a set
// of taken "app/attribute/value" keys.
type memIndex struct {
	direct map[string][]string
	parent map[string][]string
	taken  map[string]string // "app/attr/value" -> holder person id
	fail   bool
}

func (m *memIndex) Groups(id string, nested bool) ([]string, error) {
	if m.fail {
		return nil, fmt.Errorf("index unavailable")
	}
	seen := map[string]bool{}
	var walk func(g string)
	walk = func(g string) {
		if seen[g] {
			return
		}
		seen[g] = true
		if nested {
			for _, p := range m.parent[g] {
				walk(p)
			}
		}
	}
	for _, g := range m.direct[id] {
		walk(g)
	}
	out := make([]string, 0, len(seen))
	for g := range seen {
		out = append(out, g)
	}
	sort.Strings(out)
	return out, nil
}

func (m *memIndex) Taken(app, attr, value, personID string) (bool, error) {
	holder, ok := m.taken[app+"/"+attr+"/"+strings.ToLower(value)]
	return ok && holder != personID, nil
}

// dirGroups is a GroupResolver over a fixed set of group DNs; the id is the
// normalized DN with a "gid:" prefix so tests see the resolver was used.
type dirGroups []string

func (d dirGroups) ResolveGroup(dn string) (string, bool, error) {
	want, err := normalizeDN(dn)
	if err != nil {
		return "", false, nil
	}
	for _, g := range d {
		if n, _ := normalizeDN(g); n == want {
			return "gid:" + n, true, nil
		}
	}
	return "", false, nil
}
