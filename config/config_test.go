package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBrokenFileReportsEveryErrorWithPosition(t *testing.T) {
	_, err := Load("testdata/broken.yaml")
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("err = %v, want Errors", err)
	}
	want := []string{
		`testdata/broken.yaml:3:17: time: invalid duration "forever"`,
		`testdata/broken.yaml:6:3: unknown key "setings" (known keys here: settings, type)`,
		`testdata/broken.yaml:9:10: expected a list, found "mapping.yaml"`,
		`testdata/broken.yaml:13:14: cannot unmarshal string into Go value of type int`,
		`testdata/broken.yaml:14:5: unknown key "extra" (known keys here: approve, connector, disabled, guard, maxAttempts, settings, workers)`,
	}
	if got := strings.Split(errs.Error(), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestValidConfigWithDefaultsAndSettings(t *testing.T) {
	t.Setenv("DIRBRIDGE_TEST_TOKEN", "s3cret")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pw"), []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	text := `
directory:
  type: ldif
  settings: {path: people.ldif}
mapping: {files: [mapping.yaml]}
apps:
  slack:
    connector: mock
    settings:
      token: ${env:DIRBRIDGE_TEST_TOKEN}
      password: ${file:` + filepath.Join(dir, "pw") + `}
`
	c, err := Parse(filepath.Join(dir, "agent.yaml"), []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if c.Apps["slack"].Workers != 4 || c.Status.Listen != "127.0.0.1:8470" || c.Guard.Window != time.Hour {
		t.Errorf("defaults not applied: %+v", c)
	}
	if got := c.Resolve("mapping.yaml"); got != filepath.Join(dir, "mapping.yaml") {
		t.Errorf("Resolve = %s", got)
	}
	var s struct {
		Token    Secret `yaml:"token"`
		Password Secret `yaml:"password"`
	}
	if err := c.Apps["slack"].Settings.Decode(&s); err != nil {
		t.Fatal(err)
	}
	if s.Token.Reveal() != "s3cret" || s.Password.Reveal() != "from-file" {
		t.Errorf("secrets = %q %q", s.Token.Reveal(), s.Password.Reveal())
	}
	if strings.Contains(s.Token.String(), "s3cret") {
		t.Errorf("String() leaks the secret: %s", s.Token)
	}
	var strict struct {
		Token Secret `yaml:"token"`
	}
	err = c.Apps["slack"].Settings.Decode(&strict)
	if err == nil || !strings.Contains(err.Error(), `agent.yaml:11:7: unknown key "password"`) {
		t.Errorf("strict settings decode: %v", err)
	}
}

func TestValidation(t *testing.T) {
	cases := map[string]string{
		"remote status without opt-in": "directory: {type: ldif}\nmapping: {files: [m.yaml]}\napps: {a: {connector: mock}}\nstatus: {listen: '0.0.0.0:8470'}\n",
		"no apps":                      "directory: {type: ldif}\nmapping: {files: [m.yaml]}\n",
		"minimal valid":                "directory: {type: ldif}\nmapping: {files: [m.yaml]}\napps: {a: {connector: mock}}\n",
	}
	wants := map[string]string{
		"remote status without opt-in": "is not a loopback address",
		"no apps":                      "no app is configured",
	}
	for name, text := range cases {
		_, err := Parse("agent.yaml", []byte(text))
		want := wants[name]
		if want == "" {
			if err != nil {
				t.Errorf("%s: unexpected error %v", name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", name, err, want)
		}
	}
	var s struct {
		T Secret `yaml:"t"`
	}
	err := DecodeYAML("x.yaml", []byte("t: ${env:DIRBRIDGE_SURELY_UNSET}\n"), &s)
	if err == nil || !strings.Contains(err.Error(), "x.yaml:1:4") || !strings.Contains(err.Error(), "DIRBRIDGE_SURELY_UNSET is not set") {
		t.Errorf("unset secret: %v", err)
	}
}

func TestInlineStructs(t *testing.T) {
	type Search struct {
		Base   string `yaml:"base"`
		Filter string `yaml:"filter"`
	}
	var v struct {
		Groups struct {
			Search `yaml:",inline"`
			Member string `yaml:"memberAttribute"`
		} `yaml:"groups"`
	}
	if err := DecodeYAML("x.yaml", []byte("groups: {base: ou=g, memberAttribute: member}\n"), &v); err != nil {
		t.Fatal(err)
	}
	if v.Groups.Base != "ou=g" || v.Groups.Member != "member" {
		t.Fatalf("decoded %+v", v)
	}
	err := DecodeYAML("x.yaml", []byte("groups: {bse: x}\n"), &v)
	if err == nil || !strings.Contains(err.Error(), "known keys here: base, filter, memberAttribute") {
		t.Fatalf("unknown key in an inline struct: %v", err)
	}
}

func TestSecretLiteralsAreReadAsYAMLReadsThem(t *testing.T) {
	var s struct {
		A Secret `yaml:"a"`
		B Secret `yaml:"b"`
		C Secret `yaml:"c"`
	}
	text := "a: 'it''s \"quoted\"'\nb: \"tab\\there\"\nc: plain'quote'\n"
	if err := DecodeYAML("s.yaml", []byte(text), &s); err != nil {
		t.Fatal(err)
	}
	if s.A.Reveal() != `it's "quoted"` || s.B.Reveal() != "tab\there" || s.C.Reveal() != "plain'quote'" {
		t.Errorf("secrets read as %q %q %q", s.A.Reveal(), s.B.Reveal(), s.C.Reveal())
	}
}
