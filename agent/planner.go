package agent

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/dirbridge/dirbridge/connectors"
	"github.com/dirbridge/dirbridge/mapping"
	"github.com/dirbridge/dirbridge/outbox"
)

// planner turns the mapping's verdict for a person into lifecycle requests:
// it diffs desired against planned, so evaluating the same data twice
// queues nothing (docs/design.md section 2 rule 3).
type planner struct {
	eval   mapping.Evaluator
	policy map[string]map[connectors.Operation]bool // app -> operations that always need approval
	// evalFailed reports a person whose evaluation failed (status page, log).
	evalFailed func(personID, dn string, err error)
}

// txMemberships answers the mapping's group questions from the store's
// membership index, inside the transaction that is planning.
type txMemberships struct{ tx *outbox.Tx }

func (m txMemberships) Groups(personID string, nested bool) ([]string, error) {
	return m.tx.MemberGroups(personID, nested)
}

// Taken answers the mapping's unique() from the store's index of values
// people hold (mapping.Uniqueness), in the same transaction, so two people
// planned together never get the same value.
func (m txMemberships) Taken(app, attribute, value, personID string) (bool, error) {
	return m.tx.Taken(app, attribute, value, personID), nil
}

// holdings lists the values a person's evaluation gives them: identity
// userName and email, and every text attribute of every assigned app.
func holdings(res mapping.Result) []outbox.Holding {
	h := []outbox.Holding{{App: "", Attribute: "userName", Value: res.Identity.UserName},
		{App: "", Attribute: "email", Value: res.Identity.Email}}
	for app, ar := range res.Apps {
		if !ar.Assigned {
			continue
		}
		for attr, v := range ar.User.Attributes {
			if s, ok := v.(string); ok && len(s) <= 256 {
				h = append(h, outbox.Holding{App: app, Attribute: attr, Value: s})
			}
		}
	}
	return h
}

// Planned is one request the planner queued (or would queue, in a preview).
type Planned struct {
	App    string               `json:"app"`
	Op     connectors.Operation `json:"op"`
	Reason string               `json:"reason"`
	Held   string               `json:"held,omitempty"`
	ID     uint64               `json:"id,omitempty"`
}

// batchRun is the batch a plan goes into and the cause it records.
type batchRun struct {
	batch uint64 // the open batch (outbox.OpenBatch); the guard decides when it closes
	cause string // what triggered it ("directory change", "mapping change", ...)
}

// plan re-evaluates one person and queues what is needed in every app, into
// the run's batch.
func (p *planner) plan(tx *outbox.Tx, personID string, run batchRun, now time.Time) ([]Planned, error) {
	snap, ok, err := tx.Person(personID)
	if err != nil || !ok {
		return nil, err // not a person: a group, or an id the store never held
	}
	res := mapping.Result{Apps: map[string]mapping.AppResult{}}
	if !snap.Deleted {
		res, err = p.eval.Evaluate(mapping.Person{ID: snap.ID, DN: snap.DN, Attributes: snap.Attributes}, txMemberships{tx}, now)
		if err != nil {
			// One person's data must not stop everyone else's changes: the
			// person keeps their current state and the error is shown.
			if p.evalFailed != nil {
				p.evalFailed(personID, snap.DN, err)
			}
			return nil, nil
		}
	}
	if res.Identity.Protected {
		return nil, nil // protected accounts are excluded from any change
	}
	// People out of scope keep their values (their deactivated accounts
	// still carry them); only a person deleted from the directory frees them.
	if !snap.Deleted && res.InScope {
		if err := tx.SetHoldings(personID, holdings(res)); err != nil {
			return nil, err
		}
	} else if snap.Deleted {
		if err := tx.SetHoldings(personID, nil); err != nil {
			return nil, err
		}
	}
	next := res.NextChange
	if !next.After(now) {
		next = time.Time{} // only future times: a past one would fire again at once
	}
	if err := tx.SetTimer(personID, next); err != nil {
		return nil, err
	}
	why := run.cause
	if snap.Deleted {
		why = run.cause + ": deleted in the directory"
	}
	var out []Planned
	for _, app := range p.eval.Apps() {
		ar := res.Apps[app]
		var desired *connectors.User
		if res.InScope && ar.Assigned {
			u := ar.User
			desired = &u
		}
		planned, err := p.planApp(tx, app, personID, desired, ar, batchRun{run.batch, why})
		if err != nil {
			return nil, err
		}
		out = append(out, planned...)
	}
	return out, nil
}

// step is one operation the diff calls for.
type step struct {
	op     connectors.Operation
	target *connectors.User
	reason string
}

func (p *planner) planApp(tx *outbox.Tx, app, person string, desired *connectors.User, ar mapping.AppResult, run batchRun) ([]Planned, error) {
	st, _, err := tx.State(app, person)
	if err != nil {
		return nil, err
	}
	if !reflect.DeepEqual(st.Desired, desired) {
		if err := tx.SetDesired(app, person, desired); err != nil {
			return nil, err
		}
	}
	steps := diff(st.Planned, desired, ar, st.OutOfScope)
	var out []Planned
	for _, s := range steps {
		hold := p.hold(app, s.op)
		r, err := tx.Enqueue(outbox.NewRequest{App: app, PersonID: person, Op: s.op,
			Reason: run.cause + ": " + s.reason, Target: s.target, Hold: hold,
			Batch: run.batch, GuardKind: guardKind(s.op, s.target, st.Planned)})
		if err != nil {
			return nil, err
		}
		out = append(out, Planned{App: app, Op: s.op, Reason: r.Reason, Held: hold, ID: r.ID})
	}
	if len(steps) > 0 {
		outOfScope := desired == nil
		if outOfScope != st.OutOfScope {
			return out, tx.SetOutOfScope(app, person, outOfScope)
		}
	}
	return out, nil
}

// hold returns why the approval policy makes a request wait for an
// approver, or "". The mass-change guard decides per batch, when the batch
// closes (guard.go).
func (p *planner) hold(app string, op connectors.Operation) string {
	if p.policy[app][op] {
		return fmt.Sprintf("apps.%s.approve requires approval of every %s", app, op)
	}
	return ""
}

// diff lists the operations that take planned to desired, in the order they
// must run. It is pure: the same inputs give the same steps.
func diff(planned, desired *connectors.User, ar mapping.AppResult, outOfScope bool) []step {
	switch {
	case desired == nil && planned == nil:
		return nil
	case desired == nil:
		if !planned.Active {
			return nil
		}
		t := *planned
		t.Active = false
		return []step{{connectors.OpDeactivate, &t, "no longer assigned (out of scope, removed from the assigning group, or deleted)"}}
	case planned == nil:
		if !desired.Active {
			return nil // never create an account for a disabled person
		}
		steps := []step{{connectors.OpCreate, lifecycle(desired, true, false), "assigned by " + ruleName(ar)}}
		if desired.Frozen {
			steps = append(steps, step{connectors.OpFreeze, lifecycle(desired, true, true), "frozen rule is true"})
		}
		return steps
	}
	return diffExisting(planned, desired, ar, outOfScope)
}

func diffExisting(planned, desired *connectors.User, ar mapping.AppResult, outOfScope bool) []step {
	var steps []step
	cur := *planned
	if cur.Active && !desired.Active {
		return []step{{connectors.OpDeactivate, lifecycle(&cur, false, cur.Frozen), "the person is disabled (active rule is false)"}}
	}
	if !cur.Active && desired.Active {
		op, why := connectors.OpActivate, "the person is enabled again (active rule is true)"
		if outOfScope {
			op, why = connectors.OpReactivate, "assigned again by "+ruleName(ar)
		}
		cur.Active = true
		steps = append(steps, step{op, lifecycle(&cur, true, cur.Frozen), why})
	}
	if !cur.Active {
		return steps // attributes of an inactive account wait until it is active
	}
	if changed := changedFields(&cur, desired, ar.UpdateOn); len(changed) > 0 {
		t := *desired
		t.Active, t.Frozen = cur.Active, cur.Frozen
		cur = t
		steps = append(steps, step{connectors.OpUpdate, &t, "changed: " + strings.Join(changed, ", ")})
	}
	if desired.Frozen != cur.Frozen {
		op, why := connectors.OpFreeze, "frozen rule is true"
		if !desired.Frozen {
			op, why = connectors.OpUnfreeze, "frozen rule is false again"
		}
		steps = append(steps, step{op, lifecycle(&cur, true, desired.Frozen), why})
	}
	return steps
}

// lifecycle returns a copy of u with the lifecycle flags set.
func lifecycle(u *connectors.User, active, frozen bool) *connectors.User {
	t := *u
	t.Active, t.Frozen = active, frozen
	return &t
}

// changedFields lists what an Update must send: mapped attributes (limited
// to updateOn when the mapping says so), the userName and entitlements.
func changedFields(planned, desired *connectors.User, updateOn []string) []string {
	var out []string
	watch := func(name string) bool {
		if len(updateOn) == 0 {
			return true
		}
		for _, u := range updateOn {
			if u == name {
				return true
			}
		}
		return false
	}
	for k, v := range desired.Attributes {
		if ov, ok := planned.Attributes[k]; (!ok || !reflect.DeepEqual(ov, v)) && watch(k) {
			out = append(out, k)
		}
	}
	for k := range planned.Attributes {
		if _, ok := desired.Attributes[k]; !ok && watch(k) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	if planned.UserName != desired.UserName {
		out = append(out, "userName")
	}
	if planned.Profile != desired.Profile {
		out = append(out, "profile")
	}
	if !sameSet(planned.PermissionSets, desired.PermissionSets) {
		out = append(out, "permissionSets")
	}
	if !sameSet(planned.Groups, desired.Groups) {
		out = append(out, "groups")
	}
	return out
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := make(map[string]int, len(a))
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		if m[x] == 0 {
			return false
		}
		m[x]--
	}
	return true
}

func ruleName(ar mapping.AppResult) string {
	if ar.Rule == "" {
		return "the mapping"
	}
	return ar.Rule
}
