package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dirbridge/dirbridge/connectors"
	"github.com/dirbridge/dirbridge/directory"
	"github.com/dirbridge/dirbridge/mapping"
	"github.com/dirbridge/dirbridge/operator"
	"github.com/dirbridge/dirbridge/outbox"
)

// Preview is what `dirbridge preview <user>` shows: the entry as the
// directory has it now, the evaluated mapping and, per app, the requests
// that would be made now. Nothing is stored and nothing is sent.
type Preview struct {
	Source   string                `json:"source"` // "live directory" or "stored snapshot"
	Entry    directory.Entry       `json:"entry"`
	InScope  bool                  `json:"inScope"`
	Scope    []mapping.Test        `json:"scopeTests,omitempty"` // each scope condition and its outcome
	Identity mapping.Identity      `json:"identity"`
	Groups   []string              `json:"groups"`
	Apps     map[string]AppPreview `json:"apps"`
}

// AppPreview is one app in a preview.
type AppPreview struct {
	Assigned bool              `json:"assigned"`
	Rule     string            `json:"rule,omitempty"`
	Rules    []mapping.Test    `json:"rules,omitempty"` // every assign rule and its outcome
	Desired  *connectors.User  `json:"desired,omitempty"`
	Planned  *connectors.User  `json:"planned,omitempty"`
	Requests []PreviewedChange `json:"wouldRequest"`
}

// PreviewedChange is a request the planner would queue.
type PreviewedChange struct {
	Op     connectors.Operation `json:"op"`
	Reason string               `json:"reason"`
	Held   string               `json:"held,omitempty"`
}

// Preview evaluates the running mapping for one person (login, DN or id).
func (a *Agent) Preview(ctx context.Context, who string) (Preview, error) {
	p := a.maps.planner()
	if p == nil {
		return Preview{}, errors.New("no mapping is active yet (it activates after the first full read)")
	}
	entry, src, err := a.previewEntry(ctx, who)
	if err != nil {
		return Preview{}, err
	}
	out := Preview{Source: src, Entry: entry, Apps: map[string]AppPreview{}}
	err = a.store.View(func(tx *outbox.Tx) error {
		res, ex, err := explain(p.eval, mapping.Person{ID: entry.ID, DN: entry.DN, Attributes: entry.Attributes}, txMemberships{tx}, a.now())
		if err != nil {
			return err
		}
		out.InScope, out.Identity, out.Scope = res.InScope, res.Identity, ex.Scope
		if out.Groups, err = tx.MemberGroups(entry.ID, true); err != nil {
			return err
		}
		for _, app := range p.eval.Apps() {
			ap, err := previewApp(tx, p, app, entry.ID, res)
			if err != nil {
				return err
			}
			ap.Rules = ex.Apps[app]
			out.Apps[app] = ap
		}
		return nil
	})
	return out, err
}

// explainer is implemented by mappings that can say why each rule passed.
type explainer interface {
	Explain(p mapping.Person, m mapping.Memberships, now time.Time) (mapping.Result, mapping.Explanation, error)
}

func explain(ev mapping.Evaluator, p mapping.Person, m mapping.Memberships, now time.Time) (mapping.Result, mapping.Explanation, error) {
	if x, ok := ev.(explainer); ok {
		return x.Explain(p, m, now)
	}
	res, err := ev.Evaluate(p, m, now)
	return res, mapping.Explanation{}, err
}

func previewApp(tx *outbox.Tx, p *planner, app, id string, res mapping.Result) (AppPreview, error) {
	ar := res.Apps[app]
	st, _, err := tx.State(app, id)
	if err != nil {
		return AppPreview{}, err
	}
	ap := AppPreview{Assigned: res.InScope && ar.Assigned, Rule: ar.Rule, Planned: st.Planned, Requests: []PreviewedChange{}}
	if ap.Assigned {
		u := ar.User
		ap.Desired = &u
	}
	if res.Identity.Protected {
		return ap, nil // protected: nothing would change
	}
	for _, s := range diff(st.Planned, ap.Desired, ar, st.OutOfScope) {
		held := ""
		if p.policy[app][s.op] {
			held = fmt.Sprintf("apps.%s.approve requires approval of every %s", app, s.op)
		}
		ap.Requests = append(ap.Requests, PreviewedChange{Op: s.op, Reason: s.reason, Held: held})
	}
	return ap, nil
}

// previewEntry reads the person live when the source can, else from the
// stored snapshot.
func (a *Agent) previewEntry(ctx context.Context, who string) (directory.Entry, string, error) {
	var snap outbox.Snapshot
	known := false
	_ = a.store.View(func(tx *outbox.Tx) error {
		id, err := operator.FindPerson(tx, who)
		if err == nil {
			snap, known, _ = tx.Person(id)
		}
		return nil
	})
	l, live := a.source.(directory.Lookuper)
	if live {
		attr, value := loginOf(snap, who, known)
		for _, at := range attr {
			lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			e, err := l.Lookup(lctx, at, value)
			cancel()
			if err == nil {
				return *e, "live directory", nil
			}
			if !errors.Is(err, directory.ErrNotFound) {
				return directory.Entry{}, "", err
			}
		}
	}
	if known {
		return directory.Entry{ID: snap.ID, DN: snap.DN, Kind: directory.KindPerson, Attributes: snap.Attributes,
			PrimaryGroup: snap.PrimaryGroup}, "stored snapshot", nil
	}
	return directory.Entry{}, "", fmt.Errorf("%w: no person with login, DN or id %q", outbox.ErrNotFound, who)
}

// loginOf picks the attribute(s) to look a person up by.
func loginOf(snap outbox.Snapshot, who string, known bool) ([]string, string) {
	if known {
		for _, at := range operator.LoginAttributes {
			if v := snap.Attributes[at]; len(v) > 0 {
				return []string{at}, v[0]
			}
		}
	}
	return operator.LoginAttributes, who
}
