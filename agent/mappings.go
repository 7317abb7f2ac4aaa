package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/dirbridge/dirbridge/config"
	"github.com/dirbridge/dirbridge/connectors"
	"github.com/dirbridge/dirbridge/mapping"
	"github.com/dirbridge/dirbridge/outbox"
)

// mappings holds the running mapping and reloads it when its files change.
// A broken file is rejected: the last good mapping keeps running and the
// error is shown on the status page.
type mappings struct {
	a      *Agent
	files  []string
	mu     sync.RWMutex
	cur    *planner
	digest string
	state  MappingStatus
}

// MappingStatus is what the status endpoint shows about the mapping.
type MappingStatus struct {
	Files    []string       `json:"files"`
	LoadedAt time.Time      `json:"loadedAt,omitzero"`
	Error    string         `json:"error,omitempty"`
	LastDiff map[string]int `json:"lastDiff,omitempty"` // "app Op" -> requests planned by the last reload
}

func newMappings(a *Agent, cfg *config.Config) *mappings {
	m := &mappings{a: a}
	for _, f := range cfg.Mapping.Files {
		m.files = append(m.files, cfg.Resolve(f))
	}
	m.state.Files = m.files
	return m
}

// storeResolver resolves group DNs written in mapping files through the
// store's DN index (filled by directory reads).
type storeResolver struct{ s *outbox.Store }

func (r storeResolver) ResolveGroup(dn string) (id string, ok bool, err error) {
	err = r.s.View(func(tx *outbox.Tx) error {
		id, ok = tx.IDByDN(dn)
		if ok {
			_, ok, err = tx.Group(id)
		}
		return err
	})
	return id, ok, err
}

// preload checks the mapping files and returns the directory attributes they
// read, before the directory has been read. Group names are resolved later,
// against the store, once groups are known.
func (m *mappings) preload() ([]string, error) {
	ev, err := mapping.Load(m.files, mapping.AnyGroup{})
	if err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	if err := m.load(); err != nil {
		m.a.log.Info().Err(err).Msg("mapping not active yet: its groups resolve after the first full read")
	}
	return ev.Attributes(), nil
}

// load compiles the files against the store; on success the new mapping
// replaces the running one.
func (m *mappings) load() error {
	digest, err := m.filesDigest()
	if err != nil {
		return err
	}
	ev, err := mapping.Load(m.files, storeResolver{m.a.store})
	m.mu.Lock()
	defer m.mu.Unlock()
	m.digest = digest
	if err != nil {
		m.state.Error = err.Error()
		return err
	}
	m.cur = m.newPlanner(ev)
	m.state.Error, m.state.LoadedAt, m.state.LastDiff = "", m.a.now(), nil
	return nil
}

func (m *mappings) newPlanner(ev mapping.Evaluator) *planner {
	policy := map[string]map[connectors.Operation]bool{}
	for name, app := range m.a.cfg.Apps {
		policy[name] = map[connectors.Operation]bool{}
		for _, op := range app.Approve {
			policy[name][connectors.Operation(op)] = true
		}
	}
	return &planner{eval: ev, guard: m.a.guard, policy: policy, evalFailed: m.a.evalFailed}
}

// planner returns the running mapping's planner, nil before the first
// successful load.
func (m *mappings) planner() *planner {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.cur
}

// Status returns the mapping's state for the status endpoint.
func (m *mappings) Status() MappingStatus {
	m.mu.RLock()
	defer m.mu.RUnlock()
	s := m.state
	s.LastDiff = make(map[string]int, len(m.state.LastDiff))
	for k, v := range m.state.LastDiff {
		s.LastDiff[k] = v
	}
	return s
}

func (m *mappings) filesDigest() (string, error) {
	h := sha256.New()
	for _, f := range m.files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("mapping: %w", err)
		}
		h.Write(b)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// watch reloads the mapping when its files change, and activates it after
// the first full read when its groups could not be resolved before.
func (m *mappings) watch(ctx context.Context) error {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		digest, err := m.filesDigest()
		m.mu.RLock()
		same, active := digest == m.digest, m.cur != nil
		m.mu.RUnlock()
		if err != nil || (same && active) {
			continue
		}
		cause := "mapping change"
		if !active {
			cause = "mapping activated"
		}
		if err := m.reload(ctx, cause); err != nil && !errors.Is(err, context.Canceled) {
			m.a.log.Error().Err(err).Msg("mapping change rejected; the last good mapping keeps running")
		}
	}
}

// reload loads the files and re-plans everyone with the new mapping. The
// planner's mass-change guard holds what crosses its limits for approval;
// the summary of what the change planned is logged and shown on the status
// page.
func (m *mappings) reload(ctx context.Context, cause string) error {
	if err := m.load(); err != nil {
		return err
	}
	diff := map[string]int{}
	err := m.a.store.Update(ctx, func(tx *outbox.Tx) error {
		clear(diff)
		return m.replanAll(tx, diff, cause)
	})
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.state.LastDiff = diff
	m.mu.Unlock()
	m.a.log.Info().Interface("planned", diff).Msg("mapping loaded and applied")
	m.a.wakeTimers()
	m.a.poke()
	return nil
}

func (m *mappings) replanAll(tx *outbox.Tx, diff map[string]int, cause string) error {
	p := m.planner()
	var ids []string
	if err := tx.People(func(s outbox.Snapshot) error {
		if !s.Deleted {
			ids = append(ids, s.ID)
		}
		return nil
	}); err != nil {
		return err
	}
	for _, id := range ids {
		planned, err := p.plan(tx, id, cause, m.a.now())
		if err != nil {
			return err
		}
		for _, pl := range planned {
			diff[pl.App+" "+string(pl.Op)]++
		}
	}
	return nil
}
