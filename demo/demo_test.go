package demo

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/dirbridge/dirbridge/config"
	"github.com/dirbridge/dirbridge/mapping"
)

func TestWorkspaceIsValid(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(filepath.Join(dir, ConfigFile)); err != nil {
		t.Fatalf("demo config: %v", err)
	}
	if err := mapping.Check([]string{filepath.Join(dir, MappingFile)}, mapping.AnyGroup{}); err != nil {
		t.Fatalf("demo mapping: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, TokenFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", fi, err)
	}
	if n := len(Directory()); n != 53 {
		t.Fatalf("directory has %d entries, want 50 people and 3 groups", n)
	}
}
