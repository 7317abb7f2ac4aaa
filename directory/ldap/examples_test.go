package ldap

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

// TestExampleFiles keeps examples/directory-*.yaml valid: each decodes
// strictly into Config and passes validation.
func TestExampleFiles(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "ldap-password")
	if err := os.WriteFile(secret, []byte("from-a-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DIRBRIDGE_LDAP_PASSWORD", "from-the-env")
	for _, name := range []string{"directory-ad.yaml", "directory-openldap.yaml"} {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("../../examples", name))
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Directory struct {
					Type     string        `yaml:"type"`
					Settings yaml.MapSlice `yaml:"settings"`
				} `yaml:"directory"`
			}
			if err := yaml.Unmarshal(b, &doc); err != nil || doc.Directory.Type != "ldap" {
				t.Fatalf("%s: type %q, %v", name, doc.Directory.Type, err)
			}
			settings, err := yaml.Marshal(doc.Directory.Settings)
			if err != nil {
				t.Fatal(err)
			}
			// The example's secret file path is replaced by one that exists here.
			src := string(settings)
			src = strings.ReplaceAll(src, "/etc/dirbridge/ldap-password", secret)
			var cfg Config
			if err := decodeYAML(src)(&cfg); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			cfg.defaults("")
			cfg.TLS.CAFile = "" // the example's CA path does not exist here; New would read it
			if err := cfg.Validate(); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if cfg.Bind.Password.Reveal() == "" {
				t.Errorf("%s: the password reference did not resolve", name)
			}
		})
	}
}
