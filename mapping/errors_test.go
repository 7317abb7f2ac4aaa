package mapping

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files of the mapping tests")

// TestMistakes loads files full of deliberate mistakes and checks the exact
// error list: every problem, at once, as file:line:col: message.
func TestMistakes(t *testing.T) {
	files := []string{
		"testdata/errors/mistakes.yaml",
		"testdata/errors/mistakes-other.yaml",
		"testdata/errors/syntax.yaml",
	}
	_, err := Load(files, dirGroups{"CN=Slack Users,OU=Groups,DC=corp,DC=example"})
	var list Errors
	if !errors.As(err, &list) {
		t.Fatalf("Load returned %T %v, want mapping.Errors", err, err)
	}
	got := err.Error() + "\n"
	golden := filepath.Join("testdata", "errors", "mistakes.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("errors differ from %s (run go test -update to rewrite it, then review the diff)\n got:\n%s\nwant:\n%s",
			golden, got, want)
	}
	for _, e := range list {
		if e.Line < 1 || e.Col < 1 || !strings.HasPrefix(e.File, "testdata/errors/") {
			t.Errorf("bad position in %v", e)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load([]string{"testdata/errors/no-such-file.yaml"}, AnyGroup{})
	if err == nil || !strings.HasPrefix(err.Error(), "testdata/errors/no-such-file.yaml:1:1: cannot read mapping file") {
		t.Fatalf("err = %v", err)
	}
}

func TestMissingIdentity(t *testing.T) {
	_, err := Parse("apps.yaml", []byte("apps:\n  a:\n    assign:\n      - ou: \"OU=x,DC=y\"\n"), AnyGroup{})
	want := "apps.yaml:1:1: no mapping file has an identity section (with at least userName)"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
	_, err = Parse("id.yaml", []byte("identity:\n  email: mail\n"), AnyGroup{})
	want = `id.yaml:1:1: identity needs userName, e.g. userName: lower(sAMAccountName) + "@corp.example"`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
}

func TestResolverErrorAndNilResolver(t *testing.T) {
	src := []byte("identity:\n  userName: mail\n  protected: memberOf(\"CN=A,DC=x\")\n")
	_, err := Parse("r.yaml", src, nil)
	want := `r.yaml:3:23: cannot resolve group "CN=A,DC=x": no group resolver was given`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
	if _, err := Parse("r.yaml", src, AnyGroup{}); err != nil {
		t.Fatalf("AnyGroup must accept a well-formed DN: %v", err)
	}
}
