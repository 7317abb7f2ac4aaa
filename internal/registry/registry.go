// Package registry is the explicit name -> constructor map behind
// connectors.Register and directory.Register (the database/sql.Register
// pattern): plugins register in init functions, the agent creates them by
// the name an admin wrote in the config.
package registry

import (
	"sort"
	"sync"
)

// Registry maps names to factories of type F.
type Registry[F any] struct {
	kind string
	mu   sync.RWMutex
	m    map[string]F
}

// New returns an empty registry; kind names it in panics ("connectors").
func New[F any](kind string) *Registry[F] { return &Registry[F]{kind: kind, m: map[string]F{}} }

// Register adds f under name. It panics when the name is taken or isNil
// says f is nil: both are programming errors found at start-up.
func (r *Registry[F]) Register(name string, f F, isNil bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if isNil {
		panic(r.kind + ": Register factory is nil for " + name)
	}
	if _, dup := r.m[name]; dup {
		panic(r.kind + ": Register called twice for " + name)
	}
	r.m[name] = f
}

// Get returns the factory registered as name.
func (r *Registry[F]) Get(name string) (F, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	f, ok := r.m[name]
	return f, ok
}

// Names lists the registered names, sorted.
func (r *Registry[F]) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.m))
	for n := range r.m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
