// Package mapping compiles the admin-edited mapping files (who is in scope,
// which apps each person gets, with which profile and permission sets, and how
// directory attributes become app attributes) and evaluates them per person.
//
// The agent consumes a compiled mapping through the Evaluator interface; the
// planner diffs its result against what is planned in the outbox.
package mapping

import (
	"time"

	"github.com/dirbridge/dirbridge/connectors"
)

// Person is the input of one evaluation: the stored snapshot of a person.
type Person struct {
	ID         string              // stable directory id (objectGUID / entryUUID)
	DN         string              // current DN
	Attributes map[string][]string // lower-cased attribute name -> values
}

// Memberships answers group questions about the person being evaluated. The
// agent implements it over its membership index, so a group change needs no
// re-read of the person.
type Memberships interface {
	// Groups returns the IDs of the groups personID belongs to: direct
	// membership and the AD primary group, plus, when nested is true, every
	// group reached through nested groups (cycles are tolerated).
	Groups(personID string, nested bool) ([]string, error)
}

// GroupResolver turns a group DN written in a mapping file into the group's
// stable id, at load time. A DN that does not resolve is a mapping error,
// never an empty group.
type GroupResolver interface {
	ResolveGroup(dn string) (id string, ok bool, err error)
}

// Uniqueness is implemented by the agent, next to Memberships, to let
// unique() pick a value no other person holds. Evaluate finds it by a type
// assertion on its Memberships argument (an optional capability, as in
// connectors); without it nothing counts as taken.
type Uniqueness interface {
	// Taken reports whether value is held by a person other than personID.
	// app and attribute say where unique() is used: app "" with an identity
	// field ("userName", "email"), or an app with its attribute path or
	// "userName" for the app's own userName key. Compare values as the app
	// does (most compare user names case-insensitively). An error fails the
	// person's evaluation; it is never read as "free".
	Taken(app, attribute, value, personID string) (bool, error)
}

// Result is the evaluated mapping for one person.
type Result struct {
	InScope  bool     // the person matches the mapping's scope
	Identity Identity // evaluated once per person
	// Apps holds every app of the mapping, assigned or not.
	Apps map[string]AppResult
	// NextChange is the earliest future time at which a time-dependent
	// expression (accountExpired, a start date) may change this result; zero
	// when nothing depends on time. The agent registers a timer for it.
	NextChange time.Time
}

// Identity is the per-person part of the mapping, shared by every app.
type Identity struct {
	Anchor    string
	UserName  string
	Active    bool
	Frozen    bool
	Protected bool // excluded from any change

	// Name parts and email, for preview and for apps' attributes
	// (identity.givenName ...).
	GivenName   string
	FamilyName  string
	DisplayName string
	Email       string
}

// AppResult is what one app should have for the person.
type AppResult struct {
	Assigned bool   // an assign rule matched (and the person is in scope)
	Rule     string // which rule matched, for preview and request reasons, e.g. `assign[0]: memberOf("CN=Sales,...")`
	// User is the desired account: anchor, userName, active and frozen (after
	// per-app overrides), attributes, profile, permission sets and groups.
	User connectors.User
	// UpdateOn lists the attribute paths whose change triggers an Update;
	// empty means every mapped attribute.
	UpdateOn []string
}

// Evaluator is a compiled mapping. It is safe for concurrent use.
type Evaluator interface {
	// Apps lists the app names the mapping configures, sorted.
	Apps() []string
	// Attributes lists the directory attributes the mapping reads, lower
	// case, so a source requests only those.
	Attributes() []string
	// Evaluate evaluates the mapping for p at time now.
	Evaluate(p Person, m Memberships, now time.Time) (Result, error)
}
