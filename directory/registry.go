package directory

import (
	"fmt"
	"sort"
	"sync"

	"github.com/rs/zerolog"
)

// Env is what a source factory gets from the agent.
type Env struct {
	Logger zerolog.Logger // tagged with component
	// Decode strictly decodes the `directory.settings` section into v (a
	// pointer to the source's config struct); errors carry file:line:col.
	// Fields of type config.Secret resolve ${env:NAME} and ${file:/path}.
	Decode func(v any) error
	// BaseDir is the directory of the config file; relative paths in settings
	// are resolved against it.
	BaseDir string
	// Attributes lists the directory attributes the mapping reads (lower
	// case); a source requests only these (plus what it needs itself).
	Attributes []string
}

// Factory creates a source.
type Factory func(env Env) (Source, error)

var (
	registryMu sync.RWMutex
	registry   = map[string]Factory{}
)

// Register makes a source type available by name; it panics on a duplicate
// name or a nil factory (programming errors found at start-up).
func Register(name string, f Factory) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if f == nil {
		panic("directory: Register factory is nil for " + name)
	}
	if _, dup := registry[name]; dup {
		panic("directory: Register called twice for " + name)
	}
	registry[name] = f
}

// New creates the source registered as name.
func New(name string, env Env) (Source, error) {
	registryMu.RLock()
	f, ok := registry[name]
	registryMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("directory: unknown source type %q (known: %v)", name, Names())
	}
	return f(env)
}

// Names lists the registered source types, sorted.
func Names() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
