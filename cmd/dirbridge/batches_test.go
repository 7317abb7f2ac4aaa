package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dirbridge/dirbridge/demo"
	"github.com/dirbridge/dirbridge/outbox"
)

// TestAHeldBatchIsDecidedFromTheCLI: the guard holds a whole batch; an
// approver lists it, sees who is in it, approves one person and denies the
// rest, through the running agent's API.
func TestAHeldBatchIsDecidedFromTheCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns the agent")
	}
	dir := t.TempDir()
	listen := freePort(t)
	if err := demo.Write(dir, listen); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, demo.ConfigFile)
	text := strings.ReplaceAll(mustRead(t, cfg), "pollInterval: 1s", "pollInterval: 100ms") + "guard:\n  maxDeactivations: 3\n"
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := startAgent(t, cfg)
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()
	waitSettled(t, "http://"+listen)
	ldif := filepath.Join(dir, demo.LDIFFile)
	text = mustRead(t, ldif)
	start := strings.Index(text, "dn: CN=Slack Users,")
	end := strings.Index(text[start:], "\n\n")
	if err := os.WriteFile(ldif, []byte(text[:start]+text[start+end+2:]), 0o600); err != nil {
		t.Fatal(err)
	}

	var out string
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out, "held") && time.Now().Before(deadline) {
		_, out, _ = runCLI("batches", "--config", cfg)
		time.Sleep(100 * time.Millisecond)
	}
	m := regexp.MustCompile(`(?m)^(\d+)\s+directory change\s+.*slack\s+held\s+33\s+33 deactivate\s+mass-change guard`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("batches does not show the held batch:\n%s", out)
	}
	batch := m[1]
	code, out, errs := runCLI("batches", "show", batch, "--app", "slack", "-o", "json", "--config", cfg)
	var held []outbox.Request
	if code != 0 || json.Unmarshal([]byte(out), &held) != nil || len(held) != 33 {
		t.Fatalf("batches show: exit %d, %d requests\n%s%s", code, len(held), out, errs)
	}
	login := strings.TrimSuffix(held[0].Target.UserName, "@corp.example")
	if code, out, errs := runCLI("batches", "approve", batch, "--app", "slack", "--person", login, "--as", "ciso", "--config", cfg); code != 0 ||
		!strings.Contains(out, "1 held request(s) of slack in batch "+batch+" approved") {
		t.Fatalf("approve one: exit %d\n%s%s", code, out, errs)
	}
	if code, out, errs := runCLI("batches", "deny", batch, "--app", "slack", "--config", cfg); code != 0 ||
		!strings.Contains(out, "32 held request(s)") {
		t.Fatalf("deny the rest: exit %d\n%s%s", code, out, errs)
	}
	deadline = time.Now().Add(20 * time.Second)
	for {
		_, out, _ = runCLI("requests", "show", jsonNumber(held[0].ID), "-o", "json", "--config", cfg)
		if strings.Contains(out, `"state": "Completed"`) && strings.Contains(out, `for ciso`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the approved deactivation was not delivered:\n%s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func jsonNumber(id uint64) string { b, _ := json.Marshal(id); return string(b) }
