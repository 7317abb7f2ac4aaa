package mapping

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr/vm"
)

// state is the environment of one evaluation, handed to every expression as
// $env (the rewriter inserts it). It has no exported fields or methods, so an
// expression can reach nothing through it but the library functions.
type state struct {
	p      *Person
	m      Memberships
	oracle Uniqueness
	now    time.Time
	next   time.Time // earliest future time a time test may flip; zero if none

	dn     string // normalized DN, computed on first use
	dnDone bool
	groups [2]groupSet // direct (0) and nested (1) memberships, fetched on first use

	strs  [numIdentityStrings]string // identity values evaluated so far
	bools [numIdentityBools]bool

	vm   vm.VM              // reused between evaluations: the VM keeps its stack
	args [maxDirectArgs]any // arguments of direct calls (direct.go)
}

type groupSet struct {
	loaded bool
	ids    []string            // as the index returned them
	set    map[string]struct{} // built only for people in many groups
}

// groupSetMapMin is where a map beats scanning the list: most people are in
// a handful of groups, and building a map for them costs more than it saves.
const groupSetMapMin = 16

func (g *groupSet) has(id string) bool {
	if g.set != nil {
		_, ok := g.set[id]
		return ok
	}
	for _, x := range g.ids {
		if x == id {
			return true
		}
	}
	return false
}

var statePool = sync.Pool{New: func() any { return new(state) }}

func (s *state) reset(p *Person, m Memberships, now time.Time) {
	keep := s.vm
	*s = state{p: p, m: m, now: now, vm: keep} // args were cleared after each call
	s.oracle, _ = m.(Uniqueness)
}

// attr returns the first value of a directory attribute, "" when missing.
func (s *state) attr(name string) string {
	if v := s.p.Attributes[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// changeAt records that a time test flips at t, for Result.NextChange.
func (s *state) changeAt(t time.Time) {
	if !t.After(s.now) {
		if !t.Equal(s.now) {
			return
		}
		t = t.Add(time.Nanosecond) // a strict test flips just after t
	}
	if s.next.IsZero() || t.Before(s.next) {
		s.next = t
	}
}

func (s *state) normalizedDN() string {
	if !s.dnDone {
		s.dn, _ = normalizeDN(s.p.DN)
		s.dnDone = true
	}
	return s.dn
}

func (s *state) memberOf(id string, nested bool) (bool, error) {
	i := 0
	if nested {
		i = 1
	}
	g := &s.groups[i]
	if !g.loaded {
		if s.m == nil {
			return false, fmt.Errorf("membership test without a membership index")
		}
		ids, err := s.m.Groups(s.p.ID, nested)
		if err != nil {
			return false, fmt.Errorf("memberships of %s: %w", s.p.ID, err)
		}
		g.ids, g.loaded = ids, true
		if len(ids) >= groupSetMapMin {
			g.set = make(map[string]struct{}, len(ids))
			for _, x := range ids {
				g.set[x] = struct{}{}
			}
		}
	}
	return g.has(id), nil
}

// Functions that need the evaluation state; the rewriter passes $env first.

func fnAttr(a ...any) (any, error) { return a[0].(*state).attr(a[1].(string)), nil }

func fnValues(a ...any) (any, error) {
	v := a[0].(*state).p.Attributes[a[1].(string)]
	if v == nil {
		return []string{}, nil
	}
	return v, nil
}

func fnDN(a ...any) (any, error) { return a[0].(*state).p.DN, nil }

func fnMember(a ...any) (any, error) {
	return a[0].(*state).memberOf(a[1].(string), a[2].(bool))
}

func fnInOU(a ...any) (any, error) {
	return dnUnder(a[0].(*state).normalizedDN(), a[1].(string)), nil
}

func fnIdentityString(a ...any) (any, error) { return a[0].(*state).strs[a[1].(int)], nil }
func fnIdentityBool(a ...any) (any, error)   { return a[0].(*state).bools[a[1].(int)], nil }

// fnNowCompare is `now() OP t` (or `t OP now()` when nowRight): it records t
// so the agent re-evaluates the person when the comparison flips.
func fnNowCompare(a ...any) (any, error) {
	s, op, t, nowRight := a[0].(*state), a[1].(string), a[2].(time.Time), a[3].(bool)
	s.changeAt(t)
	l, r := s.now, t
	if nowRight {
		l, r = t, s.now
	}
	switch op {
	case "<":
		return l.Before(r), nil
	case "<=":
		return !l.After(r), nil
	case ">":
		return l.After(r), nil
	case ">=":
		return !l.Before(r), nil
	case "==":
		return l.Equal(r), nil
	}
	return !l.Equal(r), nil
}

// fnAccountExpired is accountExpired(accountExpires): AD keeps the expiry as
// a FILETIME, 0 or 0x7FFFFFFFFFFFFFFF for never. An account expires at that
// instant, with no directory write, so the time is recorded for a timer.
func fnAccountExpired(a ...any) (any, error) {
	s := a[0].(*state)
	t, err := parseFileTime(a[1].(string))
	if err != nil {
		return nil, fmt.Errorf("accountExpired: %w", err)
	}
	if t.IsZero() {
		return false, nil
	}
	s.changeAt(t)
	return !s.now.Before(t), nil
}

// fnUnique returns the first candidate that is not empty and not taken.
func fnUnique(a ...any) (any, error) {
	s, app, attr := a[0].(*state), a[1].(string), a[2].(string)
	cands := toStrings(a[3])
	for _, c := range cands {
		if strings.TrimSpace(c) == "" {
			continue
		}
		if s.oracle == nil {
			return c, nil
		}
		taken, err := s.oracle.Taken(app, attr, c, s.p.ID)
		if err != nil {
			return nil, fmt.Errorf("unique: %w", err)
		}
		if !taken {
			return c, nil
		}
	}
	return nil, fmt.Errorf("unique: all %d candidates are taken or empty", len(cands))
}

func toStrings(v any) []string {
	switch l := v.(type) {
	case []string:
		return l
	case []any:
		out := make([]string, 0, len(l))
		for _, x := range l {
			if s, ok := x.(string); ok {
				out = append(out, s)
			} else if x != nil {
				out = append(out, fmt.Sprint(x))
			}
		}
		return out
	}
	return nil
}

// AD flag helpers.

func parseFlags(fn, s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %s is not a number", fn, quoteShort(s))
	}
	return n, nil
}

// fnADDisabled tests ACCOUNTDISABLE (0x2) in userAccountControl.
func fnADDisabled(a ...any) (any, error) {
	n, err := parseFlags("adDisabled", a[0].(string))
	return n&0x2 != 0, err
}

func fnHasFlag(a ...any) (any, error) {
	n, err := parseFlags("hasFlag", a[0].(string))
	f := int64(a[1].(int))
	return f != 0 && n&f == f, err
}

// fnGUID formats a binary objectGUID (16 bytes, the first three groups
// little-endian as AD stores them) as the text AD tools show; text passes
// through unchanged.
func fnGUID(a ...any) (any, error) { return formatGUID(a[0].(string)), nil }

func formatGUID(s string) string {
	if len(s) != 16 {
		return s
	}
	b := []byte(s)
	return fmt.Sprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15])
}
