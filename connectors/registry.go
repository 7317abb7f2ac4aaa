package connectors

import (
	"fmt"

	"github.com/rs/zerolog"

	"github.com/dirbridge/dirbridge/internal/registry"
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

var factories = registry.New[Factory]("connectors")

// Register makes a connector available by name. It panics when the name is
// taken or the factory is nil: both are programming errors found at start-up.
func Register(name string, f Factory) { factories.Register(name, f, f == nil) }

// New creates the connector registered as name.
func New(name string, env Env) (Connector, error) {
	f, ok := factories.Get(name)
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
func Names() []string { return factories.Names() }
