// Package connectors defines the plugin interface through which dirbridge
// carries out user lifecycle requests in apps (SCIM 2.0 services, a
// Salesforce org, the mock target) and the registry that creates them by name.
//
// Implementations live in sub-packages (connectors/scim,
// connectors/salesforce, connectors/mock) and register themselves in an init
// function; cmd/dirbridge imports the ones it ships. Every implementation runs
// the contract suite in connectors/connectortest.
package connectors

import "context"

// Operation is a user lifecycle operation. The vocabulary follows Salesforce's
// User Provisioning for Connected Apps, which admins already know.
type Operation string

const (
	OpCreate     Operation = "Create"
	OpUpdate     Operation = "Update"
	OpDeactivate Operation = "Deactivate"
	OpActivate   Operation = "Activate"
	OpFreeze     Operation = "Freeze"
	OpUnfreeze   Operation = "Unfreeze"
	OpReactivate Operation = "Reactivate"
)

// Operations lists every operation, in documentation order.
var Operations = []Operation{OpCreate, OpUpdate, OpDeactivate, OpActivate, OpFreeze, OpUnfreeze, OpReactivate}

// Urgent reports whether op travels in the priority lane: terminations
// overtake bulk work.
func (op Operation) Urgent() bool { return op == OpDeactivate || op == OpFreeze }

// Valid reports whether op is one of Operations.
func (op Operation) Valid() bool {
	for _, o := range Operations {
		if o == op {
			return true
		}
	}
	return false
}

// User is what the mapping says a person's account in one app should look
// like. It is built when a request is handed out, from the latest desired
// state, so a queued request never sends stale values.
type User struct {
	Anchor   string `json:"anchor"`   // written to the app (SCIM externalId, a Salesforce External ID field)
	UserName string `json:"userName"` // the app's login name
	Active   bool   `json:"active"`
	Frozen   bool   `json:"frozen,omitempty"`
	// Attributes maps app attribute paths (SCIM "name.givenName",
	// `emails[type eq "work"].value`, Salesforce "Email") to JSON values:
	// string, bool, float64, []any or nil.
	Attributes     map[string]any `json:"attributes,omitempty"`
	Profile        string         `json:"profile,omitempty"`
	PermissionSets []string       `json:"permissionSets,omitempty"`
	Groups         []string       `json:"groups,omitempty"`
}

// AccountStatus is the state of an account in an app.
type AccountStatus string

const (
	StatusActive      AccountStatus = "Active"
	StatusDeactivated AccountStatus = "Deactivated"
	StatusFrozen      AccountStatus = "Frozen"
	StatusDeleted     AccountStatus = "Deleted"
)

// Account is an account as the app has it.
type Account struct {
	ExternalID string        `json:"externalId"`         // the app's own id (SCIM id, Salesforce User Id)
	UserName   string        `json:"userName,omitempty"` // the app's login name
	Anchor     string        `json:"anchor,omitempty"`   // the anchor the app carries, "" if none
	Status     AccountStatus `json:"status"`
	Email      string        `json:"email,omitempty"` // for linking by email when the app has no userName match
}

// Request is one operation to carry out for one person in one app.
type Request struct {
	ID       uint64    // outbox request id, stable across retries
	App      string    // app name from the agent config
	PersonID string    // stable directory id of the person
	Op       Operation // what to do
	Desired  User      // the latest desired state (built at hand-out)
	// Confirmed is what the app last acknowledged, nil if nothing yet. An
	// Update sends only what differs between Desired and Confirmed.
	Confirmed *User
	// Changed lists the attribute paths of Desired.Attributes that differ from
	// Confirmed (Update only). Entitlement changes are derived by comparing
	// Desired and Confirmed directly.
	Changed []string
	// Account is the stored link to the app's account: empty ExternalID when
	// the person is not linked yet.
	Account Account
	// Attempt counts deliveries of this request, 1 on the first.
	Attempt int
	// Verify is set when an earlier attempt may have reached the app (a crash
	// while Provisioning, a timeout): the connector looks the account up before
	// acting and never blindly re-posts a Create.
	Verify bool
}

// Connector carries out requests in one app.
//
// Contract:
//   - Apply is called concurrently for different people and never
//     concurrently for the same person; requests for one person arrive in order.
//   - Apply is idempotent: a retried request must not duplicate its effect.
//     Create links an existing account carrying the same anchor (or, when it
//     carries no anchor, the same userName) instead of creating a second one,
//     and never adopts an account that carries another anchor (Conflict).
//     "Already active", "already a member", "already assigned" are successes.
//   - Apply returns the account as the app now has it, or an error classified
//     with *Error. Unclassified errors are treated as retryable.
//   - Connectors do not retry on their own beyond what a single HTTP exchange
//     needs; the outbox owns the retry schedule.
//   - Close releases resources; no call follows it.
type Connector interface {
	Apply(ctx context.Context, req Request) (Account, error)
	Close() error
}

// Lister is implemented by connectors that can list the app's accounts, for
// linking an app that already has users and for target reconciliation.
type Lister interface {
	ListAccounts(ctx context.Context, fn func(Account) error) error
}

// Prober is implemented by connectors that can check their configuration and
// credentials without changing anything, for `dirbridge check`.
type Prober interface {
	Probe(ctx context.Context) error
}

// Result is the outcome of one request of a batch.
type Result struct {
	Account Account
	Err     error // classified as for Apply
}

// Batcher is implemented by connectors that can carry out several requests
// in one call (Salesforce sObject Collections). The dispatcher hands it
// requests for different people of one app; results come back in the same
// order, and one request's failure does not fail the others.
type Batcher interface {
	ApplyBatch(ctx context.Context, reqs []Request) []Result
}
