package mapping

import (
	"time"
)

// Explanation says why Evaluate decided as it did, condition by condition,
// for `dirbridge preview` and the status page: "why does Alice not have
// Slack yet?" is the helpdesk's most common question.
type Explanation struct {
	Scope []Test            // base, filter and when, as configured
	Apps  map[string][]Test // every assign rule of every app, in order
}

// Test is one condition and its outcome for the person.
type Test struct {
	What   string // `base "OU=Staff,DC=corp,DC=example"`, `assign[0] (slack.yaml:7): group "CN=..."`
	Passed bool
	// Decided marks the assign rule that gave the app (the first that
	// passed); rules after it are still tested, to show what else matches.
	Decided bool
	Err     string // an evaluation error, instead of an outcome
}

// Explain evaluates p like Evaluate and also tests every scope condition and
// every assign rule on its own. It is for one person at a time; the agent's
// bulk path is Evaluate.
func (m *Mapping) Explain(p Person, mem Memberships, now time.Time) (Result, Explanation, error) {
	res, err := m.Evaluate(p, mem, now)
	var ex Explanation
	xerr := withState(&p, mem, now, func(s *state) error {
		ex = Explanation{Scope: m.explainScope(s), Apps: make(map[string][]Test, len(m.apps))}
		for _, a := range m.apps {
			ex.Apps[a.name] = a.explainRules(s, res.InScope)
		}
		return nil
	})
	if err == nil {
		err = xerr
	}
	return res, ex, err
}

func (m *Mapping) explainScope(s *state) []Test {
	sc := &m.scope
	var out []Test
	if sc.base != "" {
		out = append(out, Test{What: "base " + quoteShort(sc.base), Passed: dnUnder(s.normalizedDN(), sc.base)})
	}
	if sc.filter != nil {
		out = append(out, Test{What: "filter " + quoteShort(sc.filterSrc), Passed: sc.filter.match(s.p.Attributes)})
	}
	if sc.when != nil {
		out = append(out, boolTest("when "+sc.when.src, func() (bool, error) { return runBool(s, sc.when) }))
	}
	return out
}

func (a *compiledApp) explainRules(s *state, inScope bool) []Test {
	out := make([]Test, 0, len(a.rules))
	decided := false
	for i := range a.rules {
		r := &a.rules[i]
		t := boolTest(r.desc, func() (bool, error) { return r.matches(s) })
		if t.Passed && inScope && !decided {
			t.Decided, decided = true, true
		}
		out = append(out, t)
	}
	return out
}

func boolTest(what string, run func() (bool, error)) Test {
	ok, err := run()
	if err != nil {
		return Test{What: what, Err: err.Error()}
	}
	return Test{What: what, Passed: ok}
}
