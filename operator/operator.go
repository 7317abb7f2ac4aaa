// Package operator answers an operator's questions about the state file and
// carries out their decisions on it: list and show lifecycle requests, retry,
// approve, deny, cancel or complete one, decide a held batch, show what
// happened to one person, list the accounts of an app.
//
// It works on an open outbox.Store and nothing else, so the same code serves
// the running agent's status API and the CLI working directly on the state
// file of a stopped agent.
package operator

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/dirbridge/dirbridge/outbox"
)

// ErrUnknownAction is returned for an action that is not one of Actions.
var ErrUnknownAction = errors.New("operator: unknown action (want retry, approve, deny, cancel or complete)")

// Actions an operator may take on one request. Approve and deny need the
// approver role on the status API.
var Actions = []string{"retry", "approve", "deny", "cancel", "complete"}

// Queries reads and acts on one state file.
type Queries struct{ s *outbox.Store }

// New works on s, which the caller keeps open and closes.
func New(s *outbox.Store) *Queries { return &Queries{s: s} }

// RequestDetail is a request with its provisioning log.
type RequestDetail struct {
	Request outbox.Request    `json:"request"`
	Log     []outbox.LogEntry `json:"log"`
}

// PersonView answers "what happened to this person": the snapshot, each
// app's desired/planned/confirmed state and link, and every request.
type PersonView struct {
	Person   outbox.Snapshot            `json:"person"`
	Groups   []string                   `json:"groups"`
	Apps     map[string]outbox.AppState `json:"apps"`
	Requests []outbox.Request           `json:"requests"`
}

// Requests lists the requests f selects, newest first (never nil).
func (q *Queries) Requests(_ context.Context, f outbox.Filter) ([]outbox.Request, error) {
	out := []outbox.Request{}
	err := q.s.View(func(tx *outbox.Tx) error {
		reqs, err := tx.ListRequests(f)
		out = append(out, reqs...)
		return err
	})
	return out, err
}

// Request reads a request and its log entries.
func (q *Queries) Request(_ context.Context, id uint64) (RequestDetail, error) {
	var d RequestDetail
	err := q.s.View(func(tx *outbox.Tx) error {
		var err error
		if d.Request, err = tx.Request(id); err != nil {
			return err
		}
		d.Log, err = tx.RequestLog(d.Request)
		return err
	})
	return d, err
}

// Act applies an operator action to a request: retry, approve, deny,
// cancel or complete (done by hand); who is recorded in its log.
func (q *Queries) Act(ctx context.Context, id uint64, action, who string) (outbox.Request, error) {
	var out outbox.Request
	err := q.s.Update(ctx, func(tx *outbox.Tx) error {
		var err error
		switch action {
		case "retry":
			out, err = tx.Retry(id, who)
		case "approve":
			out, err = tx.Approve(id, who)
		case "deny":
			out, err = tx.Deny(id, who)
		case "cancel":
			out, err = tx.Cancel(id, who)
		case "complete":
			out, err = tx.MarkCompleted(id, who)
		default:
			err = fmt.Errorf("%w: %q", ErrUnknownAction, action)
		}
		return err
	})
	return out, err
}

// DecideHeld approves or denies every request of app held for approval
// (a mass change the guard stopped) and says how many there were.
func (q *Queries) DecideHeld(ctx context.Context, app string, approve bool, who string) (int, error) {
	var n int
	err := q.s.Update(ctx, func(tx *outbox.Tx) error {
		var err error
		if approve {
			n, err = tx.ApproveHeld(app, who)
		} else {
			n, err = tx.DenyHeld(app, who)
		}
		return err
	})
	return n, err
}

// Batches lists the planning batches that are still open or being settled,
// then the latest that held something (most recent first).
func (q *Queries) Batches(_ context.Context) ([]outbox.Batch, error) {
	var out []outbox.Batch
	err := q.s.View(func(tx *outbox.Tx) error {
		var err error
		out, err = tx.Batches(20)
		return err
	})
	return out, err
}

// DecideBatch approves or denies the held requests of app in one batch, or
// only those of people (logins, DNs or ids), and says how many.
func (q *Queries) DecideBatch(ctx context.Context, id uint64, app string, approve bool, people []string, who string) (int, error) {
	var n int
	err := q.s.Update(ctx, func(tx *outbox.Tx) error {
		var match func(outbox.Request) bool
		if len(people) > 0 {
			ids := map[string]bool{}
			for _, p := range people {
				pid, err := FindPerson(tx, p)
				if err != nil {
					return err
				}
				ids[pid] = true
			}
			match = func(r outbox.Request) bool { return ids[r.PersonID] }
		}
		var err error
		n, err = tx.DecideBatch(id, app, who, approve, match)
		return err
	})
	return n, err
}

// Accounts returns the per (app, person) records of app ("" for all),
// the basis of `dirbridge accounts` (never nil).
func (q *Queries) Accounts(_ context.Context, app string) ([]outbox.AppState, error) {
	out := []outbox.AppState{}
	err := q.s.View(func(tx *outbox.Tx) error {
		return tx.States(app, func(st outbox.AppState) error {
			out = append(out, st)
			return nil
		})
	})
	return out, err
}

// DisplayNames maps each person id to the person's DN as the directory last
// showed it (the id itself when unknown): helpdesk staff read names, not
// objectGUIDs.
func (q *Queries) DisplayNames(_ context.Context, ids []string) (map[string]string, error) {
	names := map[string]string{}
	err := q.s.View(func(tx *outbox.Tx) error {
		for _, id := range ids {
			if _, done := names[id]; done {
				continue
			}
			names[id] = id
			if s, ok, _ := tx.Person(id); ok && s.DN != "" {
				names[id] = s.DN
			}
		}
		return nil
	})
	return names, err
}

// LoginAttributes are tried, in order, when a person is looked up by name.
var LoginAttributes = []string{"samaccountname", "uid", "userprincipalname", "mail"}

// Person finds a person by id, DN or login name and gathers their state in
// every app.
func (q *Queries) Person(_ context.Context, who string) (PersonView, error) {
	v := PersonView{Apps: map[string]outbox.AppState{}}
	err := q.s.View(func(tx *outbox.Tx) error {
		id, err := FindPerson(tx, who)
		if err != nil {
			return err
		}
		v.Person, _, _ = tx.Person(id)
		if v.Groups, err = groupDNs(tx, id); err != nil {
			return err
		}
		if err := tx.States("", func(st outbox.AppState) error {
			if st.PersonID == id {
				v.Apps[st.App] = st
			}
			return nil
		}); err != nil {
			return err
		}
		v.Requests, err = personRequests(tx, id, v.Apps)
		return err
	})
	return v, err
}

// groupDNs are the groups of person id, by DN where known: DNs read better
// than ids on a helpdesk screen.
func groupDNs(tx *outbox.Tx, id string) ([]string, error) {
	groups, err := tx.MemberGroups(id, true)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(groups))
	for _, g := range groups {
		if info, ok, _ := tx.Group(g); ok {
			g = info.DN
		}
		out = append(out, g)
	}
	return out, nil
}

func personRequests(tx *outbox.Tx, id string, apps map[string]outbox.AppState) ([]outbox.Request, error) {
	var out []outbox.Request
	for app := range apps {
		reqs, err := tx.ListRequests(outbox.Filter{App: app, PersonID: id})
		if err != nil {
			return nil, err
		}
		out = append(out, reqs...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	return out, nil
}

// FindPerson resolves who (an id, a DN or a login in one of LoginAttributes)
// to a person id.
func FindPerson(tx *outbox.Tx, who string) (string, error) {
	if _, ok, err := tx.Person(who); err != nil || ok {
		return who, err
	}
	if id, ok := tx.IDByDN(who); ok {
		return id, nil
	}
	found := ""
	err := tx.People(func(s outbox.Snapshot) error {
		for _, attr := range LoginAttributes {
			for _, v := range s.Attributes[attr] {
				if found == "" && strings.EqualFold(v, who) {
					found = s.ID
				}
			}
		}
		return nil
	})
	if err == nil && found == "" {
		err = fmt.Errorf("%w: no person with id, DN or login %q", outbox.ErrNotFound, who)
	}
	return found, err
}
