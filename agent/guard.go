package agent

import (
	"fmt"
	"sync"
	"time"

	"github.com/dirbridge/dirbridge/config"
	"github.com/dirbridge/dirbridge/connectors"
)

// guard is the mass-change guard (DESIGN.md section 4): per app, over a
// rolling window, Deactivates beyond a count or a share of the app's active
// accounts, Creates beyond a count (they consume licences) and Updates that
// rewrite the login name beyond a count are held for approval with the
// reason. Once tripped, the rest of the window's batch is held too, so an
// approver sees and decides the whole batch at once.
type guard struct {
	cfg    config.Guard
	mu     sync.Mutex
	events map[string][]time.Time // app \x00 kind -> admitted at
	active map[string]int         // app -> active accounts at the last count
	now    func() time.Time
}

// percentFloor: the percentage rule applies only to apps with at least this
// many active accounts; in a tiny app every change is a large share.
const percentFloor = 100

func newGuard(cfg config.Guard, now func() time.Time) *guard {
	return &guard{cfg: cfg, events: map[string][]time.Time{}, active: map[string]int{}, now: now}
}

// setActive records how many active accounts an app has.
func (g *guard) setActive(app string, n int) {
	g.mu.Lock()
	g.active[app] = n
	g.mu.Unlock()
}

// admit returns "" when op may go ahead, or why it is held. Admitted
// operations count against the window.
func (g *guard) admit(app string, op connectors.Operation, target, planned *connectors.User) string {
	kind, limit, what := g.limit(app, op, target, planned)
	if kind == "" {
		return ""
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	key := app + "\x00" + kind
	kept := g.events[key][:0]
	for _, t := range g.events[key] {
		if now.Sub(t) < g.cfg.Window {
			kept = append(kept, t)
		}
	}
	g.events[key] = kept
	if len(kept) >= limit {
		return fmt.Sprintf("mass-change guard: more than %d %s in %s within %s; approve or deny the held batch",
			limit, what, app, g.cfg.Window)
	}
	g.events[key] = append(kept, now)
	return ""
}

func (g *guard) limit(app string, op connectors.Operation, target, planned *connectors.User) (kind string, limit int, what string) {
	switch {
	case op == connectors.OpDeactivate:
		limit = g.cfg.MaxDeactivations
		g.mu.Lock()
		active := g.active[app]
		g.mu.Unlock()
		if pct := active * g.cfg.MaxDeactivationPercent / 100; active >= percentFloor && pct < limit {
			limit = pct
		}
		return "deactivate", limit, "deactivations"
	case op == connectors.OpCreate:
		return "create", g.cfg.MaxCreates, "creates"
	case op == connectors.OpUpdate && target != nil && planned != nil && target.UserName != planned.UserName:
		return "identifier", g.cfg.MaxIdentifierChanges, "login-name changes"
	}
	return "", 0, ""
}
