package config

import (
	"fmt"

	"os"
	"strings"

	"github.com/goccy/go-yaml"
)

// Secret is a configuration value that must never be logged: a password, a
// bearer token, a client secret. In the YAML file it is written as a
// reference, `${env:NAME}` or `${file:/path}` (a systemd credential is
// `${file:${CREDENTIALS_DIRECTORY}/name}` written out by the unit), or, for
// tests and demos only, as a literal. The reference is resolved when the
// file is loaded, so a missing variable or unreadable file is a load error
// that names the reference, never the value.
type Secret struct {
	ref   string // what the file said, safe to show
	value string
}

// NewSecret returns a Secret holding value (for tests and programmatic use).
func NewSecret(value string) Secret { return Secret{ref: "(literal)", value: value} }

// Reveal returns the secret value. Call it only where the value is used.
func (s Secret) Reveal() string { return s.value }

// IsZero reports whether no secret was given.
func (s Secret) IsZero() bool { return s.value == "" && s.ref == "" }

// String never shows the value.
func (s Secret) String() string {
	if s.IsZero() {
		return ""
	}
	return "[redacted " + s.ref + "]"
}

// MarshalJSON never shows the value.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// UnmarshalYAML resolves the reference (goccy/go-yaml BytesUnmarshaler).
func (s *Secret) UnmarshalYAML(b []byte) error {
	var raw string // the scalar as YAML reads it: quotes and escapes resolved
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return err
	}
	raw = strings.TrimSpace(raw)
	v, err := ResolveSecret(raw)
	if err != nil {
		return err
	}
	ref := "(literal)"
	if strings.HasPrefix(raw, "${") {
		ref = raw
	}
	*s = Secret{ref: ref, value: v}
	return nil
}

// ResolveSecret resolves `${env:NAME}` and `${file:/path}`; anything else is
// returned as a literal. A file's trailing newline is removed.
func ResolveSecret(raw string) (string, error) {
	if !strings.HasPrefix(raw, "${") || !strings.HasSuffix(raw, "}") {
		return raw, nil
	}
	kind, arg, ok := strings.Cut(raw[2:len(raw)-1], ":")
	if !ok || arg == "" {
		return "", fmt.Errorf("secret reference %q: want ${env:NAME} or ${file:/path}", raw)
	}
	switch kind {
	case "env":
		v, ok := os.LookupEnv(arg)
		if !ok {
			return "", fmt.Errorf("secret reference %q: environment variable %s is not set", raw, arg)
		}
		return v, nil
	case "file":
		b, err := os.ReadFile(os.ExpandEnv(arg))
		if err != nil {
			return "", fmt.Errorf("secret reference %q: %w", raw, err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	default:
		return "", fmt.Errorf("secret reference %q: unknown kind %q (want env or file)", raw, kind)
	}
}
