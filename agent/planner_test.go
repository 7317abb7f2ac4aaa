package agent

import (
	"reflect"
	"testing"

	"github.com/dirbridge/dirbridge/connectors"
	"github.com/dirbridge/dirbridge/mapping"
)

func u(active, frozen bool, attrs map[string]any) *connectors.User {
	return &connectors.User{Anchor: "g1", UserName: "a@x", Active: active, Frozen: frozen, Attributes: attrs}
}

func TestDiff(t *testing.T) {
	a1 := map[string]any{"title": "Engineer"}
	a2 := map[string]any{"title": "Manager"}
	ops := func(ss []step) []connectors.Operation {
		var out []connectors.Operation
		for _, s := range ss {
			out = append(out, s.op)
		}
		return out
	}
	cases := []struct {
		name       string
		planned    *connectors.User
		desired    *connectors.User
		outOfScope bool
		updateOn   []string
		want       []connectors.Operation
	}{
		{"nothing either side", nil, nil, false, nil, nil},
		{"new person", nil, u(true, false, a1), false, nil, []connectors.Operation{connectors.OpCreate}},
		{"new person on leave", nil, u(true, true, a1), false, nil, []connectors.Operation{connectors.OpCreate, connectors.OpFreeze}},
		{"a disabled new person gets nothing", nil, u(false, false, a1), false, nil, nil},
		{"same data twice queues nothing", u(true, false, a1), u(true, false, a1), false, nil, nil},
		{"attribute change", u(true, false, a1), u(true, false, a2), false, nil, []connectors.Operation{connectors.OpUpdate}},
		{"change outside onUpdate is ignored", u(true, false, a1), u(true, false, a2), false, []string{"mail"}, nil},
		{"disabled", u(true, false, a1), u(false, false, a2), false, nil, []connectors.Operation{connectors.OpDeactivate}},
		{"left scope", u(true, false, a1), nil, false, nil, []connectors.Operation{connectors.OpDeactivate}},
		{"already inactive and out of scope", u(false, false, a1), nil, false, nil, nil},
		{"enabled again, with a change", u(false, false, a1), u(true, false, a2), false, nil, []connectors.Operation{connectors.OpActivate, connectors.OpUpdate}},
		{"back in scope", u(false, false, a1), u(true, false, a1), true, nil, []connectors.Operation{connectors.OpReactivate}},
		{"inactive stays inactive, changes wait", u(false, false, a1), u(false, false, a2), false, nil, nil},
		{"freeze", u(true, false, a1), u(true, true, a1), false, nil, []connectors.Operation{connectors.OpFreeze}},
		{"unfreeze", u(true, true, a1), u(true, false, a1), false, nil, []connectors.Operation{connectors.OpUnfreeze}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ops(diff(c.planned, c.desired, mapping.AppResult{UpdateOn: c.updateOn}, c.outOfScope))
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("diff = %v, want %v", got, c.want)
			}
		})
	}
}

func TestEntitlementChangesAreUpdates(t *testing.T) {
	p := u(true, false, nil)
	p.PermissionSets = []string{"A", "B"}
	d := u(true, false, nil)
	d.PermissionSets = []string{"B", "C"}
	d.Profile = "Standard User"
	if got := changedFields(p, d, nil); !reflect.DeepEqual(got, []string{"profile", "permissionSets"}) {
		t.Errorf("changedFields = %v", got)
	}
	d.PermissionSets = []string{"B", "A"}
	d.Profile = ""
	if got := changedFields(p, d, nil); len(got) != 0 {
		t.Errorf("reordered permission sets count as a change: %v", got)
	}
}
