package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dirbridge/dirbridge/config"
	"github.com/dirbridge/dirbridge/demo"
)

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestExitCodesAndMessages(t *testing.T) {
	dir := t.TempDir()
	if err := demo.Write(dir, "127.0.0.1:1"); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("identity:\n  userName: lower(sAMAccountName\napps: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, demo.ConfigFile)
	cases := []struct {
		name     string
		args     []string
		code     int
		contains string
	}{
		{"version", []string{"version"}, exitOK, "dirbridge "},
		{"unknown command", []string{"frobnicate"}, exitUsage, "unknown command"},
		{"good mapping", []string{"mapping", "check", filepath.Join(dir, demo.MappingFile)}, exitOK, "1 mapping file(s) OK"},
		{"broken mapping points at the line", []string{"mapping", "check", bad}, exitUsage, "bad.yaml:2:"},
		{"missing config", []string{"requests", "list", "--config", filepath.Join(dir, "nope.yaml")}, exitUsage, "no such file"},
		{"requests on a stopped agent", []string{"requests", "list", "--config", cfg}, exitOK, "ID  APP"},
		{"bad request id", []string{"requests", "show", "x1", "--config", cfg}, exitUsage, "not a request id"},
		{"unknown request", []string{"requests", "show", "999", "--config", cfg}, exitFailure, "not found"},
		{"held batch needs an app", []string{"requests", "held", "approve", "--config", cfg}, exitUsage, "--app"},
		{"held batch on a stopped agent", []string{"requests", "held", "deny", "--app", "slack", "--config", cfg}, exitOK, "0 held request(s) of slack denied"},
		{"check a demo workspace", []string{"check", "--config", cfg}, exitOK, "mock target: nothing to reach"},
		{"json output", []string{"accounts", "-o", "json", "--config", cfg}, exitOK, "[]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := runCLI(c.args...)
			if code != c.code || !strings.Contains(out+errs, c.contains) {
				t.Fatalf("exit %d (want %d), output:\n%s%s\nwant it to contain %q", code, c.code, out, errs, c.contains)
			}
		})
	}
}

func TestAPIBackendAddress(t *testing.T) {
	cases := map[string]struct {
		status config.Status
		want   string
	}{
		"loopback":           {config.Status{Listen: "127.0.0.1:8470"}, "http://127.0.0.1:8470"},
		"every interface":    {config.Status{Listen: "0.0.0.0:8470"}, "http://127.0.0.1:8470"},
		"TLS with a name":    {config.Status{Listen: "0.0.0.0:8443", TLSCert: "c.pem", Hostnames: []string{"agent01.corp.example"}}, "https://agent01.corp.example:8443"},
		"TLS without a name": {config.Status{Listen: "[::]:8443", TLSCert: "c.pem"}, "https://127.0.0.1:8443"},
	}
	for name, c := range cases {
		if got := agentURL(c.status); got != c.want {
			t.Errorf("%s: base %s, want %s", name, got, c.want)
		}
	}
}
