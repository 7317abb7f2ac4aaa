// Package mock is a target app that lives on the agent's own disk, like
// Salesforce's UserProvMockTarget: it keeps accounts in a bbolt file of its
// own and records every request it was sent, so a dry run or the demo shows
// exactly what would have happened in a real app. It follows the connector
// contract strictly (linking by anchor, conflicts, idempotent lifecycle), so
// the agent behaves against it as against a real app.
//
// Config (an app entry of the agent config):
//
//	apps:
//	  demo-slack:
//	    connector: mock
//	    settings:
//	      file: mock-demo-slack.db     # default: mock-<app>.db in the state directory
//	      latency: 20ms                # simulated round trip
//	      fail:                        # make chosen userNames fail, to try the failure paths
//	        broken@corp.example: permanent
//	        flaky@corp.example: retryable
package mock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/dirbridge/dirbridge/connectors"
)

func init() { connectors.Register("mock", New) }

// Settings configure the mock.
type Settings struct {
	File    string            `yaml:"file"`
	Latency time.Duration     `yaml:"latency"`
	Fail    map[string]string `yaml:"fail"` // userName -> retryable | permanent | rate-limited | capacity
}

// Record is an account as the mock app holds it.
type Record struct {
	connectors.Account
	Attributes     map[string]any `json:"attributes,omitempty"`
	Profile        string         `json:"profile,omitempty"`
	PermissionSets []string       `json:"permissionSets,omitempty"`
	Groups         []string       `json:"groups,omitempty"`
	Updated        time.Time      `json:"updated"`
}

// Sent is one request the mock received.
type Sent struct {
	Seq     uint64               `json:"seq"`
	Time    time.Time            `json:"time"`
	Request uint64               `json:"request"`
	Person  string               `json:"person"`
	Op      connectors.Operation `json:"op"`
	Changed []string             `json:"changed,omitempty"`
	Payload connectors.User      `json:"payload"`
	Outcome string               `json:"outcome"`
}

var (
	bAccounts = []byte("accounts") // external id -> Record
	bAnchors  = []byte("anchors")  // anchor -> external id
	bLogins   = []byte("logins")   // lower(userName) -> external id
	bSent     = []byte("sent")     // seq -> Sent
)

// Mock is the connector.
type Mock struct {
	db       *bolt.DB
	settings Settings
}

// New opens the mock app of env.App.
func New(env connectors.Env) (connectors.Connector, error) {
	var s Settings
	if err := env.Decode(&s); err != nil {
		return nil, err
	}
	if s.File == "" {
		s.File = "mock-" + env.App + ".db"
	}
	if !filepath.IsAbs(s.File) {
		s.File = filepath.Join(env.StateDir, s.File)
	}
	return Open(s)
}

// Open opens the mock app's file.
func Open(s Settings) (*Mock, error) {
	db, err := bolt.Open(s.File, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("mock: open %s: %w", s.File, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bAccounts, bAnchors, bLogins, bSent} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("mock: %w", err)
	}
	return &Mock{db: db, settings: s}, nil
}

// Close closes the file.
func (m *Mock) Close() error { return m.db.Close() }

// Apply carries out one request.
func (m *Mock) Apply(ctx context.Context, req connectors.Request) (connectors.Account, error) {
	if m.settings.Latency > 0 {
		select {
		case <-time.After(m.settings.Latency):
		case <-ctx.Done():
			return connectors.Account{}, ctx.Err()
		}
	}
	if err := m.injected(req.Desired.UserName); err != nil {
		return connectors.Account{}, err
	}
	var out connectors.Account
	err := m.db.Update(func(tx *bolt.Tx) error {
		var err error
		out, err = apply(tx, req)
		outcome := "ok"
		if err != nil {
			outcome = err.Error()
		}
		if lerr := record(tx, req, outcome); lerr != nil {
			return lerr
		}
		if errors.As(err, new(*connectors.Error)) {
			return errAppAnswered{err} // keep the log entry; the app answered with an error
		}
		return err
	})
	var answered errAppAnswered
	if errors.As(err, &answered) {
		return connectors.Account{}, answered.error
	}
	return out, err
}

// errAppAnswered carries an app-level error out of a committed transaction.
type errAppAnswered struct{ error }

func (m *Mock) injected(userName string) error {
	class, ok := m.settings.Fail[userName]
	if !ok {
		return nil
	}
	err := fmt.Errorf("mock: injected %s failure for %s", class, userName)
	switch class {
	case "permanent":
		return &connectors.Error{Class: connectors.Permanent, Code: "INJECTED", Err: err}
	case "rate-limited":
		return &connectors.Error{Class: connectors.RateLimited, RetryAfter: time.Second, Err: err}
	case "capacity":
		return &connectors.Error{Class: connectors.Capacity, Code: "LICENSE_LIMIT_EXCEEDED", Err: err}
	default:
		return &connectors.Error{Class: connectors.Retryable, Err: err}
	}
}

func record(tx *bolt.Tx, req connectors.Request, outcome string) error {
	b := tx.Bucket(bSent)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	s := Sent{Seq: seq, Time: time.Now().UTC(), Request: req.ID, Person: req.PersonID, Op: req.Op,
		Changed: req.Changed, Payload: req.Desired, Outcome: outcome}
	raw, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return b.Put(key(seq), raw)
}

func key(n uint64) []byte {
	return []byte(fmt.Sprintf("%016x", n))
}

func apply(tx *bolt.Tx, req connectors.Request) (connectors.Account, error) {
	if req.Op == connectors.OpCreate {
		return create(tx, req)
	}
	rec, ok, err := find(tx, req)
	if err != nil {
		return connectors.Account{}, err
	}
	if !ok {
		if req.Op == connectors.OpDeactivate {
			return connectors.Account{ExternalID: req.Account.ExternalID, Status: connectors.StatusDeleted}, nil
		}
		return connectors.Account{}, connectors.Errorf(connectors.NotFound, "404",
			"mock: no account %q for %s", req.Account.ExternalID, req.Desired.UserName)
	}
	switch req.Op {
	case connectors.OpUpdate:
		fill(&rec, req.Desired)
	case connectors.OpDeactivate:
		rec.Status = connectors.StatusDeactivated
	case connectors.OpActivate, connectors.OpReactivate, connectors.OpUnfreeze:
		rec.Status = connectors.StatusActive
	case connectors.OpFreeze:
		rec.Status = connectors.StatusFrozen
	}
	return rec.Account, put(tx, &rec)
}

// create links an existing account carrying the same anchor, or one with the
// same login and no anchor; another anchor on that login is a conflict.
func create(tx *bolt.Tx, req connectors.Request) (connectors.Account, error) {
	u := req.Desired
	if id := tx.Bucket(bAnchors).Get([]byte(u.Anchor)); id != nil && u.Anchor != "" {
		rec, _, err := get(tx, string(id))
		if err != nil {
			return connectors.Account{}, err
		}
		fill(&rec, u)
		rec.Status = connectors.StatusActive
		return rec.Account, put(tx, &rec)
	}
	if id := tx.Bucket(bLogins).Get([]byte(strings.ToLower(u.UserName))); id != nil {
		rec, _, err := get(tx, string(id))
		if err != nil {
			return connectors.Account{}, err
		}
		if rec.Anchor != "" {
			return connectors.Account{}, connectors.Errorf(connectors.Conflict, "uniqueness",
				"mock: userName %s belongs to an account with another anchor (%s)", u.UserName, rec.Anchor)
		}
		fill(&rec, u)
		return rec.Account, put(tx, &rec)
	}
	seq, err := tx.Bucket(bAccounts).NextSequence()
	if err != nil {
		return connectors.Account{}, err
	}
	rec := Record{Account: connectors.Account{ExternalID: fmt.Sprintf("M%015d", seq), Status: connectors.StatusActive}}
	fill(&rec, u)
	return rec.Account, put(tx, &rec)
}

func fill(rec *Record, u connectors.User) {
	rec.Anchor, rec.UserName = u.Anchor, u.UserName
	rec.Attributes, rec.Profile, rec.PermissionSets, rec.Groups = u.Attributes, u.Profile, u.PermissionSets, u.Groups
	if mail, ok := u.Attributes["email"].(string); ok {
		rec.Email = mail
	}
}

func find(tx *bolt.Tx, req connectors.Request) (Record, bool, error) {
	if req.Account.ExternalID != "" {
		return get(tx, req.Account.ExternalID)
	}
	if id := tx.Bucket(bAnchors).Get([]byte(req.Desired.Anchor)); id != nil {
		return get(tx, string(id))
	}
	return Record{}, false, nil
}

func get(tx *bolt.Tx, id string) (Record, bool, error) {
	var rec Record
	raw := tx.Bucket(bAccounts).Get([]byte(id))
	if raw == nil {
		return rec, false, nil
	}
	return rec, true, json.Unmarshal(raw, &rec)
}

func put(tx *bolt.Tx, rec *Record) error {
	rec.Updated = time.Now().UTC()
	raw, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	id := []byte(rec.ExternalID)
	if rec.Anchor != "" {
		if err := tx.Bucket(bAnchors).Put([]byte(rec.Anchor), id); err != nil {
			return err
		}
	}
	if err := tx.Bucket(bLogins).Put([]byte(strings.ToLower(rec.UserName)), id); err != nil {
		return err
	}
	return tx.Bucket(bAccounts).Put(id, raw)
}

// ListAccounts lists the app's accounts.
func (m *Mock) ListAccounts(ctx context.Context, fn func(connectors.Account) error) error {
	recs, err := m.Records()
	if err != nil {
		return err
	}
	for _, r := range recs {
		if err := fn(r.Account); err != nil {
			return err
		}
	}
	return nil
}

// Records returns every account with its attributes.
func (m *Mock) Records() ([]Record, error) {
	var out []Record
	err := m.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bAccounts).ForEach(func(k, v []byte) error {
			var r Record
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			out = append(out, r)
			return nil
		})
	})
	return out, err
}

// SentRequests returns every request the mock received, oldest first.
func (m *Mock) SentRequests() ([]Sent, error) {
	var out []Sent
	err := m.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bSent).ForEach(func(k, v []byte) error {
			var s Sent
			if err := json.Unmarshal(v, &s); err != nil {
				return err
			}
			out = append(out, s)
			return nil
		})
	})
	return out, err
}

// Probe checks the file is usable.
func (m *Mock) Probe(ctx context.Context) error {
	return m.db.View(func(tx *bolt.Tx) error { return nil })
}
