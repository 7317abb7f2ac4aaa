package directory

import (
	"fmt"

	"github.com/rs/zerolog"

	"github.com/dirbridge/dirbridge/internal/registry"
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

var factories = registry.New[Factory]("directory")

// Register makes a source type available by name; it panics on a duplicate
// name or a nil factory (programming errors found at start-up).
func Register(name string, f Factory) { factories.Register(name, f, f == nil) }

// New creates the source registered as name.
func New(name string, env Env) (Source, error) {
	f, ok := factories.Get(name)
	if !ok {
		return nil, fmt.Errorf("directory: unknown source type %q (known: %v)", name, Names())
	}
	return f(env)
}

// Names lists the registered source types, sorted.
func Names() []string { return factories.Names() }
