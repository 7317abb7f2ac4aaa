package mapping

import (
	"fmt"
	"time"

	"github.com/dirbridge/dirbridge/connectors"
)

// Mapping is a compiled set of mapping files. It is immutable and safe for
// concurrent use; it implements Evaluator.
type Mapping struct {
	scope    compiledScope
	identity compiledIdentity
	apps     []*compiledApp // sorted by name
	names    []string
	attrs    []string
}

var _ Evaluator = (*Mapping)(nil)

// Apps lists the app names, sorted.
func (m *Mapping) Apps() []string { return append([]string(nil), m.names...) }

// Attributes lists the directory attributes the mapping reads, lower case.
func (m *Mapping) Attributes() []string { return append([]string(nil), m.attrs...) }

// Evaluate evaluates the mapping for p at time now. m may also implement
// Uniqueness, for unique(). An error means an expression failed on this
// person's data (a malformed date, a failed membership lookup); it names the
// expression and its position in the mapping file.
func (m *Mapping) Evaluate(p Person, mem Memberships, now time.Time) (Result, error) {
	res := Result{Apps: make(map[string]AppResult, len(m.apps))}
	err := withState(&p, mem, now, func(s *state) error {
		err := m.evaluate(s, &res)
		res.NextChange = s.next
		return err
	})
	if err != nil {
		return Result{}, err
	}
	return res, nil
}

// withState runs fn with a pooled evaluation state for p. One person's data
// must never stop the agent: a panic comes back as an error naming the
// person (FuzzEvaluate looks for the bugs that would land here).
func withState(p *Person, mem Memberships, now time.Time, fn func(*state) error) (err error) {
	s := statePool.Get().(*state)
	s.reset(p, mem, now)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("mapping: panic while evaluating %s: %v", p.ID, r)
			s = new(state) // the pooled one may be half-updated
		}
		s.p, s.m, s.oracle = nil, nil, nil // do not keep the person alive in the pool
		statePool.Put(s)
	}()
	return fn(s)
}

func (m *Mapping) evaluate(s *state, res *Result) error {
	prot, err := runBool(s, m.identity.progs[0])
	if err != nil {
		return err
	}
	s.bools[slotProtected], res.Identity.Protected = prot, prot
	in, err := m.inScope(s)
	if err != nil || !in {
		for _, a := range m.apps {
			res.Apps[a.name] = AppResult{}
		}
		return err
	}
	res.InScope = true
	if err := m.evalIdentity(s, &res.Identity); err != nil {
		return err
	}
	for _, a := range m.apps {
		ar, err := a.evaluate(s, &res.Identity)
		if err != nil {
			return err
		}
		res.Apps[a.name] = ar
	}
	return nil
}

func (m *Mapping) inScope(s *state) (bool, error) {
	sc := &m.scope
	if sc.base != "" && !dnUnder(s.normalizedDN(), sc.base) {
		return false, nil
	}
	if sc.filter != nil && !sc.filter.match(s.p.Attributes) {
		return false, nil
	}
	if sc.when == nil {
		return true, nil
	}
	return runBool(s, sc.when)
}

func (m *Mapping) evalIdentity(s *state, id *Identity) error {
	anchor := s.attr(m.identity.anchor)
	if anchor == "" {
		return fmt.Errorf("mapping: identity.anchor: the person has no %s", m.identity.anchor)
	}
	id.Anchor = anchor
	if m.identity.anchor == "objectguid" || m.identity.anchor == "ms-ds-consistencyguid" {
		id.Anchor = formatGUID(anchor) // binary: 16 bytes; an employeeID of 16 characters stays as it is
	}
	s.strs[slotAnchor] = id.Anchor
	for i, f := range identityFields {
		p := m.identity.progs[i]
		if p == nil || i == 0 {
			continue // the anchor, a name part left empty, or protected (done)
		}
		if f.isBool {
			b, err := runBool(s, p)
			if err != nil {
				return err
			}
			s.bools[f.slot] = b
			continue
		}
		v, err := runString(s, p)
		if err != nil {
			return err
		}
		s.strs[f.slot] = v
	}
	id.UserName, id.GivenName, id.FamilyName = s.strs[slotUserName], s.strs[slotGivenName], s.strs[slotFamilyName]
	id.DisplayName, id.Email = s.strs[slotDisplayName], s.strs[slotEmail]
	id.Active, id.Frozen = s.bools[slotActive], s.bools[slotFrozen]
	return nil
}

// evaluate finds the first matching assign rule (rules are tried in file
// order; the first that matches decides profile, permission sets and groups)
// and builds the desired account.
func (a *compiledApp) evaluate(s *state, id *Identity) (AppResult, error) {
	for i := range a.rules {
		r := &a.rules[i]
		ok, err := r.matches(s)
		if err != nil {
			return AppResult{}, err
		}
		if ok {
			return a.result(s, id, r)
		}
	}
	return AppResult{}, nil
}

func (r *compiledRule) matches(s *state) (bool, error) {
	if r.groupID != "" {
		ok, err := s.memberOf(r.groupID, r.nested)
		if err != nil || !ok {
			return false, err
		}
	}
	if r.ou != "" && !dnUnder(s.normalizedDN(), r.ou) {
		return false, nil
	}
	if r.when == nil {
		return true, nil
	}
	return runBool(s, r.when)
}

func (a *compiledApp) result(s *state, id *Identity, r *compiledRule) (AppResult, error) {
	u := connectors.User{Anchor: id.Anchor, UserName: id.UserName, Active: id.Active, Frozen: id.Frozen,
		Profile: r.profile, PermissionSets: copyStrings(r.permissionSets), Groups: copyStrings(r.groups)}
	var err error
	if a.userName != nil {
		if u.UserName, err = runString(s, a.userName); err != nil {
			return AppResult{}, err
		}
	}
	if a.active != nil {
		if u.Active, err = runBool(s, a.active); err != nil {
			return AppResult{}, err
		}
	}
	if a.frozen != nil {
		if u.Frozen, err = runBool(s, a.frozen); err != nil {
			return AppResult{}, err
		}
	}
	if u.Attributes, err = a.attributes(s); err != nil {
		return AppResult{}, err
	}
	return AppResult{Assigned: true, Rule: r.desc, User: u, UpdateOn: copyStrings(a.updateOn)}, nil
}

func (a *compiledApp) attributes(s *state) (map[string]any, error) {
	if len(a.attrs) == 0 {
		return nil, nil
	}
	out := make(map[string]any, len(a.attrs))
	for _, at := range a.attrs {
		v, err := run(s, at.prog)
		if err != nil {
			return nil, err
		}
		if out[at.path], err = jsonValue(v); err != nil {
			return nil, at.prog.fail(err)
		}
	}
	return out, nil
}

func copyStrings(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return append([]string(nil), s...)
}
