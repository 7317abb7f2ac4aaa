package statusapi_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/dirbridge/dirbridge/agent"
	"github.com/dirbridge/dirbridge/config"
	"github.com/dirbridge/dirbridge/connectors"
	"github.com/dirbridge/dirbridge/demo"
	_ "github.com/dirbridge/dirbridge/directory/ldif"
	"github.com/dirbridge/dirbridge/outbox"
)

// world is a running agent on a demo workspace (LDIF directory, mock apps)
// that has delivered its initial Creates.
type world struct {
	dir string
	cfg *config.Config
	a   *agent.Agent
}

// startWorld runs the agent; edit may change the config text first.
func startWorld(t *testing.T, edit func(cfg string) string) *world {
	t.Helper()
	dir := t.TempDir()
	if err := demo.Write(dir, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	text, _ := os.ReadFile(filepath.Join(dir, demo.ConfigFile))
	cfgText := strings.ReplaceAll(string(text), "pollInterval: 1s", "pollInterval: 50ms")
	if edit != nil {
		cfgText = edit(cfgText)
	}
	cfg, err := config.Parse(filepath.Join(dir, demo.ConfigFile), []byte(cfgText))
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(agent.Options{Config: cfg, Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
		a.Close()
	})
	w := &world{dir: dir, cfg: cfg, a: a}
	w.waitCompleted(t, "slack", 33)
	return w
}

func (w *world) waitCompleted(t *testing.T, app string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		s, err := w.a.Status(context.Background())
		if err == nil && s.Apps[app].Requests[outbox.StateCompleted] == n {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never reached %d completed requests", app, n)
}

// hold queues a Create held for approval, a request to act on.
func (w *world) hold(t *testing.T, app, person string) outbox.Request {
	t.Helper()
	var held outbox.Request
	err := w.a.Store().UpdateOne(func(tx *outbox.Tx) error {
		var err error
		held, err = tx.Enqueue(outbox.NewRequest{App: app, PersonID: person, Op: connectors.OpCreate,
			Target: &connectors.User{Anchor: person, UserName: person + "@corp.example", Active: true}, Hold: "test"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return held
}

func (w *world) token(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(w.dir, demo.TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
