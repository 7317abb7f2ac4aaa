package connectors

import (
	"fmt"
	"sort"
	"sync"

	"github.com/rs/zerolog"
)

// Env is what a connector factory gets from the agent.
type Env struct {
	App      string         // the app's name in the agent config
	Logger   zerolog.Logger // tagged with component and app
	StateDir string         // where a connector may keep files of its own (the mock's accounts)
	// Decode strictly decodes the app's `settings:` section into v (a pointer
	// to the connector's config struct). Unknown keys and bad types are
	// reported as file:line:col. Fields of type config.Secret resolve
	// ${env:NAME} and ${file:/path} references.
	Decode func(v any) error
}

// Factory creates a connector for one app.
type Factory func(env Env) (Connector, error)

var (
	registryMu sync.RWMutex
	registry   = map[string]Factory{}
)

// Register makes a connector available by name. It panics when the name is
// taken or the factory is nil: both are programming errors found at start-up.
func Register(name string, f Factory) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if f == nil {
		panic("connectors: Register factory is nil for " + name)
	}
	if _, dup := registry[name]; dup {
		panic("connectors: Register called twice for " + name)
	}
	registry[name] = f
}

// New creates the connector registered as name.
func New(name string, env Env) (Connector, error) {
	registryMu.RLock()
	f, ok := registry[name]
	registryMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("connectors: unknown connector %q (known: %v)", name, Names())
	}
	c, err := f(env)
	if err != nil {
		return nil, fmt.Errorf("connectors: app %q (%s): %w", env.App, name, err)
	}
	return c, nil
}

// Names lists the registered connectors, sorted.
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
