package main

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	goldif "github.com/go-ldap/ldif"

	"github.com/dirbridge/dirbridge/agent"
	"github.com/dirbridge/dirbridge/connectors"
	"github.com/dirbridge/dirbridge/connectors/mock"
	"github.com/dirbridge/dirbridge/demo"
	"github.com/dirbridge/dirbridge/operator"
	"github.com/dirbridge/dirbridge/outbox"
)

// The chaos smoke test runs the real agent (this test binary re-executed as
// `dirbridge run`), SIGKILLs it mid-sync several times while the directory
// changes, lets a last run settle, and checks that the mock apps end in the
// desired state with no duplicate account and every request accounted for.

const childEnv = "DIRBRIDGE_CMD_CHILD_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(childEnv); args != "" {
		os.Exit(run(strings.Split(args, "\x1f"), os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func startAgent(t *testing.T, cfg string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+strings.Join([]string{"run", "--config", cfg}, "\x1f"))
	logf, err := os.OpenFile(filepath.Join(filepath.Dir(cfg), "agent.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); logf.Close() })
	return cmd
}

func TestChaosKillAgentMidSync(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns the agent several times")
	}
	dir := t.TempDir()
	listen := freePort(t)
	if err := demo.Write(dir, listen); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, demo.ConfigFile)
	slow := strings.ReplaceAll(mustRead(t, cfg), "connector: mock\n", "connector: mock\n    settings: {latency: 60ms}\n")
	slow = strings.ReplaceAll(slow, "pollInterval: 1s", "pollInterval: 100ms")
	if err := os.WriteFile(cfg, []byte(slow), 0o600); err != nil {
		t.Fatal(err)
	}
	ldif := filepath.Join(dir, demo.LDIFFile)
	for kill := 0; kill < 6; kill++ {
		cmd := startAgent(t, cfg)
		if kill == 0 {
			waitDelivering(t, "http://"+listen) // the first kill surely lands mid-delivery
		} else {
			time.Sleep(time.Duration(300+rand.IntN(700)) * time.Millisecond) // a random moment
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		switch kill {
		case 1: // two people are disabled while the agent is down
			replaceInFile(t, ldif, "dn: CN=Bob Martin,", "userAccountControl: 512", "userAccountControl: 514")
		case 3: // and one leaves Slack
			replaceInFile(t, ldif, "dn: CN=Slack Users,", "member: CN=Alice Martin,OU=Staff,DC=corp,DC=example\n", "")
		}
	}
	cmd := startAgent(t, cfg)
	waitSettled(t, "http://"+listen)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("agent did not stop cleanly on SIGTERM: %v\n%s", err, mustRead(t, filepath.Join(dir, "agent.log")))
	}
	verifyApps(t, dir)
}

// TestKilledDuringTheFirstSyncEveryoneIsProvisioned kills the agent again
// and again during its first sync: while it reads, right when the read has
// ended and the mapping is being applied to everyone, and while it delivers.
// Every restart carries on from what the store says, and in the end
// everyone the mapping assigns has exactly one active account. (A kill
// between the end of the first read and the re-plan used to leave everyone
// unprovisioned for good.)
func TestKilledDuringTheFirstSyncEveryoneIsProvisioned(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns the agent several times")
	}
	dir := t.TempDir()
	listen := freePort(t)
	if err := demo.Write(dir, listen); err != nil {
		t.Fatal(err)
	}
	people := demo.PeopleOf(3000)
	writeLDIF(t, filepath.Join(dir, demo.LDIFFile), demo.DirectoryOf(people))
	cfg := filepath.Join(dir, demo.ConfigFile)
	// Creates beyond guard.maxCreates (1000) would be held for an approver
	// as one batch: this test is about kills, not the guard.
	if err := os.WriteFile(cfg, []byte(mustRead(t, cfg)+"guard:\n  maxCreates: 5000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for kill := 0; kill < 8; kill++ {
		cmd := startAgent(t, cfg)
		if kill%2 == 0 {
			waitReadEnded(t, "http://"+listen) // the moment the read hands over to the re-plan
		} else {
			time.Sleep(time.Duration(100+rand.IntN(900)) * time.Millisecond)
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	}
	cmd := startAgent(t, cfg)
	waitSettled(t, "http://"+listen)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	wantSlack := 0
	for i, p := range people {
		if i%3 != 2 && !p.Disabled {
			wantSlack++
		}
	}
	m, err := mock.Open(mock.Settings{File: filepath.Join(dir, "mock-slack.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	recs, err := m.Records()
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	active := 0
	for _, r := range recs {
		if anchors[r.Anchor] {
			t.Errorf("two accounts for anchor %s", r.Anchor)
		}
		anchors[r.Anchor] = true
		if r.Status == connectors.StatusActive {
			active++
		}
	}
	if active != wantSlack {
		t.Fatalf("slack has %d active accounts after the kills, want %d\n%s", active, wantSlack,
			tail(mustRead(t, filepath.Join(dir, "agent.log")), 3000))
	}
}

func tail(s string, n int) string { return s[max(0, len(s)-n):] }

func writeLDIF(t *testing.T, path string, entries []*ldap.Entry) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := goldif.Dump(f, 0, entries); err != nil {
		t.Fatal(err)
	}
}

// waitReadEnded waits until the status says the first full read ended.
func waitReadEnded(t *testing.T, base string) {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var s agent.Status
		if resp, err := http.Get(base + "/api/v1/status"); err == nil {
			err = json.NewDecoder(resp.Body).Decode(&s)
			resp.Body.Close()
			if err == nil && !s.Sync.FullReadEnded.IsZero() {
				return
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatal("the full read never ended")
}

// waitDelivering waits until some requests are done and others are not.
func waitDelivering(t *testing.T, base string) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var s agent.Status
		if resp, err := http.Get(base + "/api/v1/status"); err == nil {
			err = json.NewDecoder(resp.Body).Decode(&s)
			resp.Body.Close()
			if sl := s.Apps["slack"]; err == nil && sl.Requests[outbox.StateCompleted] > 0 && busy(s) {
				return
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("the agent never started delivering")
}

func waitSettled(t *testing.T, base string) {
	deadline := time.Now().Add(60 * time.Second)
	var last agent.Status
	for time.Now().Before(deadline) {
		var s agent.Status
		resp, err := http.Get(base + "/api/v1/status")
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&s)
			resp.Body.Close()
			last = s
		}
		if err == nil && !s.Sync.FullReadEnded.IsZero() && !busy(s) && !s.Mapping.LoadedAt.IsZero() && s.Sync.Watching {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the agent did not settle within 60s; last status: %+v", last)
}

// verifyApps opens the stopped agent's state and the mock apps and checks
// every person's account matches what the mapping wants.
func verifyApps(t *testing.T, dir string) {
	s, err := outbox.Open(filepath.Join(dir, "state.db"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, app := range []string{"slack", "salesforce"} {
		m, err := mock.Open(mock.Settings{File: filepath.Join(dir, "mock-"+app+".db")})
		if err != nil {
			t.Fatal(err)
		}
		recs, err := m.Records()
		m.Close()
		if err != nil {
			t.Fatal(err)
		}
		byAnchor := map[string]mock.Record{}
		for _, r := range recs {
			if _, dup := byAnchor[r.Anchor]; dup {
				t.Errorf("%s: two accounts carry anchor %s", app, r.Anchor)
			}
			byAnchor[r.Anchor] = r
		}
		states, err := operator.New(s).Accounts(context.Background(), app)
		if err != nil {
			t.Fatal(err)
		}
		active := 0
		for _, st := range states {
			rec, has := byAnchor[st.Account.Anchor]
			switch {
			case len(st.Pending) > 0:
				t.Errorf("%s/%s still has open requests %v", app, st.PersonID, st.Pending)
			case st.Desired != nil && st.Desired.Active && (!has || rec.Status != connectors.StatusActive):
				t.Errorf("%s/%s should be active, the app has %+v (exists=%v)", app, st.PersonID, rec, has)
			case (st.Desired == nil || !st.Desired.Active) && has && rec.Status == connectors.StatusActive:
				t.Errorf("%s/%s should not be active, the app has it active", app, st.PersonID)
			}
			if has && rec.Status == connectors.StatusActive {
				active++
			}
		}
		want := map[string]int{"slack": 33 - 2, "salesforce": 19}[app] // amartin0 left Slack, bmartin1 was disabled
		if active != want {
			t.Errorf("%s has %d active accounts, want %d", app, active, want)
		}
	}
	recovered := 0
	if err := s.View(func(tx *outbox.Tx) error {
		_ = tx.Log(0, func(e outbox.LogEntry) bool {
			if e.Event == outbox.EventRecovered {
				recovered++
			}
			return true
		})
		return tx.CheckInvariants()
	}); err != nil {
		t.Error(err)
	}
	if recovered == 0 {
		t.Error("no kill interrupted a delivery: the test proved nothing about recovery")
	}
	t.Logf("%d deliveries were interrupted by a kill and verified on restart", recovered)
}

func mustRead(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// replaceInFile replaces the first old after the line that starts the
// entry at, so the edit lands in the intended entry.
func replaceInFile(t *testing.T, path, at, old, new string) {
	text := mustRead(t, path)
	start := strings.Index(text, at)
	if start < 0 || !strings.Contains(text[start:], old) {
		t.Fatalf("%s: no %q after %q", path, old, at)
	}
	text = text[:start] + strings.Replace(text[start:], old, new, 1)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}
