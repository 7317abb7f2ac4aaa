package agent

import (
	"fmt"
	"strings"

	"github.com/dirbridge/dirbridge/config"
	"github.com/dirbridge/dirbridge/connectors"
	"github.com/dirbridge/dirbridge/outbox"
)

// guard is the mass-change guard (docs/design.md, "Safety"). It decides per
// batch (everything one cause planned: a poll page, a full read, a mapping
// re-plan, an operator action) and per app, after it has seen the whole
// batch: when the batch alone, or the batch plus what the rolling window
// already admitted, goes over a limit, the app's WHOLE part of the batch is
// held for an approver; otherwise it is admitted and counted in the window.
// Nothing of a batch is sent before the decision, so a typo never lets the
// first 500 deactivations out before the guard trips; and a held batch holds
// only itself, so later unrelated changes (terminations included) flow.
//
// Its window and decisions live in the state file and survive restarts; the
// active-account count behind the percentage limit is kept by the outbox in
// the same transaction as every confirmation.
type guard struct {
	cfg *config.Config
}

// The kinds of request the guard limits.
const (
	kindDeactivate = "deactivate"
	kindCreate     = "create"
	kindIdentifier = "identifier"
)

// percentFloor: the percentage rule applies only to apps with at least this
// many active accounts; in a tiny app every change is a large share.
const percentFloor = 100

// kind says what the guard counts a planned operation as, or "".
func guardKind(op connectors.Operation, target, planned *connectors.User) string {
	switch {
	case op == connectors.OpDeactivate:
		return kindDeactivate
	case op == connectors.OpCreate:
		return kindCreate
	case op == connectors.OpUpdate && target != nil && planned != nil && target.UserName != planned.UserName:
		return kindIdentifier
	}
	return ""
}

// limit is app's limit for kind, and how it was reached (for the reason).
func (g *guard) limit(app, kind string, active int) (int, string) {
	c := g.cfg.GuardFor(app)
	switch kind {
	case kindDeactivate:
		limit, why := c.MaxDeactivations, fmt.Sprintf("guard.maxDeactivations %d", c.MaxDeactivations)
		if pct := active * c.MaxDeactivationPercent / 100; active >= percentFloor && pct < limit {
			limit, why = pct, fmt.Sprintf("%d%% of the %d active accounts", c.MaxDeactivationPercent, active)
		}
		return limit, why
	case kindCreate:
		return c.MaxCreates, fmt.Sprintf("guard.maxCreates %d", c.MaxCreates)
	default:
		return c.MaxIdentifierChanges, fmt.Sprintf("guard.maxIdentifierChanges %d", c.MaxIdentifierChanges)
	}
}

var kindWords = map[string][2]string{kindDeactivate: {"deactivation", "deactivations"},
	kindCreate: {"create", "creates"}, kindIdentifier: {"login-name change", "login-name changes"}}

// countOf says "1 deactivation", "600 deactivations".
func countOf(n int, kind string) string {
	if n == 1 {
		return "1 " + kindWords[kind][0]
	}
	return fmt.Sprintf("%d %s", n, kindWords[kind][1])
}

// decide is called once per app when a batch closes, inside the closing
// transaction. It returns why the app's part must be held, or "" after
// recording the part's counts as admitted.
func (g *guard) decide(tx *outbox.Tx, b outbox.Batch, app string, part outbox.BatchApp) string {
	window := g.cfg.GuardFor(app).Window
	since := tx.Now().Add(-window)
	var over []string
	for _, kind := range []string{kindDeactivate, kindCreate, kindIdentifier} {
		n := part.Kinds[kind]
		if n == 0 {
			continue
		}
		limit, why := g.limit(app, kind, tx.ActiveAccounts(app))
		admitted := tx.GuardAdmitted(app, kind, since)
		if n+admitted > limit {
			over = append(over, fmt.Sprintf("%s (with %d already admitted in the last %s) is more than %d (%s)",
				countOf(n, kind), admitted, window, limit, why))
		}
	}
	if len(over) > 0 {
		return fmt.Sprintf("mass-change guard: batch %d (%s) for %s: %s; an approver decides the whole batch",
			b.ID, b.Cause, app, strings.Join(over, "; "))
	}
	for kind, n := range part.Kinds {
		if n > 0 {
			if err := tx.GuardAdmit(app, kind, b.ID, n); err != nil {
				return "mass-change guard: cannot record the admission: " + err.Error()
			}
		}
	}
	return ""
}
