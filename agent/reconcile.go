package agent

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/dirbridge/dirbridge/connectors"
	"github.com/dirbridge/dirbridge/outbox"
)

// Reconciliation reads every account an app has and compares them with
// what dirbridge knows: the accounts it linked, accounts that match a person
// but are not linked yet, orphaned accounts that belong to nobody in the
// directory (the offboarding gaps auditors ask about), accounts whose status
// differs from what the mapping wants, and people who should have an
// account the app does not have. It changes nothing.

// Match says how an app account relates to the directory.
type Match string

const (
	MatchLinked   Match = "linked"   // dirbridge created or linked it
	MatchAnchor   Match = "anchor"   // carries a known person's anchor, not linked yet
	MatchUserName Match = "userName" // no anchor; its userName is a known person's
	MatchOrphaned Match = "orphaned" // nobody in the directory claims it
)

// ReconcileRow is one app account.
type ReconcileRow struct {
	connectors.Account
	Match    Match  `json:"match"`
	PersonID string `json:"person,omitempty"`
	PersonDN string `json:"dn,omitempty"`
	Problem  string `json:"problem,omitempty"`
}

// ReconcileReport is the result for one app.
type ReconcileReport struct {
	App      string         `json:"app"`
	Accounts []ReconcileRow `json:"accounts"`
	// Missing are people who should have an active account that the app
	// does not list.
	Missing []ReconcileRow `json:"missing"`
	Counts  map[string]int `json:"counts"`
}

// Reconcile lists app's accounts through its connector and compares them.
func (a *Agent) Reconcile(ctx context.Context, app string) (ReconcileReport, error) {
	r, ok := a.apps[app]
	if !ok {
		return ReconcileReport{}, fmt.Errorf("%w: no app %q is running", outbox.ErrNotFound, app)
	}
	lister, ok := r.conn.(connectors.Lister)
	if !ok {
		return ReconcileReport{}, fmt.Errorf("the %s connector cannot list accounts", r.cfg.Connector)
	}
	idx, err := a.accountIndex(app)
	if err != nil {
		return ReconcileReport{}, err
	}
	rep := ReconcileReport{App: app, Accounts: []ReconcileRow{}, Missing: []ReconcileRow{}, Counts: map[string]int{}}
	seen := map[string]bool{}
	err = lister.ListAccounts(ctx, func(acct connectors.Account) error {
		row := idx.classify(acct)
		if row.PersonID != "" {
			seen[row.PersonID] = true
		}
		rep.Accounts = append(rep.Accounts, row)
		rep.Counts[string(row.Match)]++
		if row.Problem != "" {
			rep.Counts["problems"]++
		}
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("listing %s accounts: %w", app, err)
	}
	for _, st := range idx.states {
		if st.Desired != nil && st.Desired.Active && !seen[st.PersonID] {
			rep.Missing = append(rep.Missing, ReconcileRow{Match: "missing", PersonID: st.PersonID, PersonDN: idx.dns[st.PersonID],
				Account: connectors.Account{UserName: st.Desired.UserName, Anchor: st.Desired.Anchor},
				Problem: "should have an active account; the app has none" + pendingNote(st)})
		}
	}
	rep.Counts["missing"] = len(rep.Missing)
	sort.Slice(rep.Accounts, func(i, j int) bool { return rep.Accounts[i].Match < rep.Accounts[j].Match })
	return rep, nil
}

func pendingNote(st outbox.AppState) string {
	if len(st.Pending) > 0 {
		return fmt.Sprintf(" (%d request(s) still open)", len(st.Pending))
	}
	return ""
}

// accountIndex is what the store knows of an app, keyed every way an
// account can be matched.
type accountIndex struct {
	states   map[string]outbox.AppState // person -> state
	byExt    map[string]string          // external id -> person
	byAnchor map[string]string          // anchor -> person
	byLogin  map[string]string          // lower(userName) -> person
	dns      map[string]string          // person -> DN
}

func (a *Agent) accountIndex(app string) (*accountIndex, error) {
	idx := &accountIndex{states: map[string]outbox.AppState{}, byExt: map[string]string{},
		byAnchor: map[string]string{}, byLogin: map[string]string{}, dns: map[string]string{}}
	err := a.store.View(func(tx *outbox.Tx) error {
		return tx.States(app, func(st outbox.AppState) error {
			idx.states[st.PersonID] = st
			if st.Account.ExternalID != "" {
				idx.byExt[st.Account.ExternalID] = st.PersonID
			}
			for _, u := range []*connectors.User{st.Desired, st.Confirmed, st.Planned} {
				if u != nil {
					idx.byAnchor[u.Anchor] = st.PersonID
					idx.byLogin[strings.ToLower(u.UserName)] = st.PersonID
				}
			}
			if s, ok, _ := tx.Person(st.PersonID); ok {
				idx.dns[st.PersonID] = s.DN
			}
			return nil
		})
	})
	return idx, err
}

func (idx *accountIndex) classify(acct connectors.Account) ReconcileRow {
	row := ReconcileRow{Account: acct, Match: MatchOrphaned}
	switch {
	case idx.byExt[acct.ExternalID] != "":
		row.Match, row.PersonID = MatchLinked, idx.byExt[acct.ExternalID]
	case acct.Anchor != "" && idx.byAnchor[acct.Anchor] != "":
		row.Match, row.PersonID = MatchAnchor, idx.byAnchor[acct.Anchor]
	case acct.Anchor == "" && idx.byLogin[strings.ToLower(acct.UserName)] != "":
		row.Match, row.PersonID = MatchUserName, idx.byLogin[strings.ToLower(acct.UserName)]
	}
	row.PersonDN = idx.dns[row.PersonID]
	row.Problem = idx.problem(row)
	return row
}

// problem says what is wrong with an account, "" when nothing is.
func (idx *accountIndex) problem(row ReconcileRow) string {
	active := row.Status == connectors.StatusActive || row.Status == connectors.StatusFrozen
	if row.Match == MatchOrphaned {
		if active {
			return "active, but nobody in the directory claims it"
		}
		return ""
	}
	st := idx.states[row.PersonID]
	switch want := st.Desired; {
	case (want == nil || !want.Active) && active:
		return "active in the app, but the person should have no active account" + pendingNote(st)
	case want != nil && want.Active && !active:
		return "the person should be active; the app has the account " + string(row.Status) + pendingNote(st)
	}
	return ""
}
