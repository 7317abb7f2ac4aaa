// Package testenv finds the real servers (OpenLDAP, Samba AD DC, the SCIM
// server) that scripts/testenv started, for integration tests.
//
// A variable is taken from the process environment first, then from the env
// files the scripts write under $DIRBRIDGE_TESTENV_DIR (default
// /tmp/dirbridge-testenv/*/env), so `make testenv` once and a plain `go test`
// work without sourcing anything. When a server is missing the test is
// skipped on a developer laptop and FAILS under CI=true: a skipped integration
// test in CI is a defect.
package testenv

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	loadOnce sync.Once
	fromFile map[string]string
)

// Dir is where scripts/testenv keeps its servers.
func Dir() string {
	if d := os.Getenv("DIRBRIDGE_TESTENV_DIR"); d != "" {
		return d
	}
	return "/tmp/dirbridge-testenv"
}

// Lookup returns a variable from the environment or the testenv env files.
func Lookup(name string) (string, bool) {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v, true
	}
	loadOnce.Do(loadFiles)
	v, ok := fromFile[name]
	return v, ok && v != ""
}

// InCI reports whether the tests run in CI (CI=true), where missing servers
// are failures.
func InCI() bool { return os.Getenv("CI") == "true" }

// Require returns the named variables, or skips the test (fails it under
// CI=true) naming the first one missing and the command that provides it.
func Require(t testing.TB, server string, names ...string) map[string]string {
	t.Helper()
	vals := make(map[string]string, len(names))
	for _, n := range names {
		v, ok := Lookup(n)
		if !ok {
			Unavailable(t, server+" not available: "+n+" is not set (start it with `make testenv`)")
		}
		vals[n] = v
	}
	return vals
}

// Unavailable skips the test on a laptop, and fails it under CI=true,
// saying why the environment cannot run it.
func Unavailable(t testing.TB, why string) {
	t.Helper()
	if InCI() {
		t.Fatal(why + "; CI=true, so this is a failure, not a skip")
	}
	t.Skip(why)
}

// RequireRoot is Unavailable unless the test runs as root (a private test
// server needs privileged ports or Debian packages).
func RequireRoot(t testing.TB, what string) {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, what+" needs root")
	}
}

func loadFiles() {
	fromFile = map[string]string{}
	files, _ := filepath.Glob(filepath.Join(Dir(), "*", "env"))
	for _, f := range files {
		parseEnvFile(f, fromFile)
	}
}

// parseEnvFile reads `export NAME='value'` lines as the scripts write them.
func parseEnvFile(path string, into map[string]string) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "export "))
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" || strings.HasPrefix(k, "#") {
			continue
		}
		into[k] = unquote(v)
	}
}

// unquote undoes the scripts' shell single-quoting (a quote inside is
// written as quote, backslash, quote, quote) and plain double quotes.
func unquote(v string) string {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		return strings.ReplaceAll(v[1:len(v)-1], `'\''`, `'`)
	}
	return v
}
