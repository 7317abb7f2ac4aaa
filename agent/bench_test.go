package agent

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/dirbridge/dirbridge/config"
	"github.com/dirbridge/dirbridge/connectors"
	"github.com/dirbridge/dirbridge/connectors/scim"
	"github.com/dirbridge/dirbridge/outbox"
)

// BenchmarkDeliverSCIMWithOutbox measures delivery the way the agent does
// it: requests handed out by the outbox, carried out by the SCIM connector
// against a loopback SCIM server (one PATCH per Update) by 8 workers, and
// each outcome committed back to the outbox (fsync on). Reports requests/s.
func BenchmarkDeliverSCIMWithOutbox(b *testing.B) {
	TuneRuntime() // as `dirbridge run` does
	defer debug.SetMemoryLimit(math.MaxInt64)
	defer debug.SetGCPercent(100)
	body := []byte(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","userName":"p@corp.example",` +
		`"externalId":"anchor","active":true,"title":"t"}`)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/scim+json")
		_, _ = w.Write(body)
	}))
	defer ts.Close()
	store, err := outbox.Open(filepath.Join(b.TempDir(), "state.db"), outbox.Options{NoSync: os.Getenv("NOSYNC") == "1"})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	seedUpdates(b, store, b.N)
	conn, err := scim.New(scim.Config{BaseURL: ts.URL, Patch: "always", Auth: scim.AuthConfig{BearerToken: config.NewSecret("bench")}}, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	a := &Agent{store: store, log: zerolog.Nop(), now: time.Now, status: newStatusBoard()}
	r := newAppRunner(a, "app", config.App{Connector: "scim", Workers: 8, MaxAttempts: 3}, conn)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	done := make(chan error, 1)
	go func() { done <- r.run(ctx) }()
	for completedUpdates(store) < b.N {
		time.Sleep(time.Millisecond)
	}
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	cancel()
	<-done
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "requests/s")
	// CPU per request does not move with what else the shared machine runs.
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/request")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func completedUpdates(s *outbox.Store) int {
	n := 0
	_ = s.View(func(tx *outbox.Tx) error { n = tx.Counts("app")[outbox.StateCompleted]; return nil })
	return n - benchSeeded
}

// benchSeeded counts the Creates seedUpdates completed to link the people.
var benchSeeded int

// seedUpdates links n people (a completed Create each) and queues an
// Update for each, so the measured work is n Updates.
func seedUpdates(b *testing.B, s *outbox.Store, n int) {
	for i := 0; i < n; i += 1000 {
		err := s.UpdateOne(func(tx *outbox.Tx) error { return seedChunk(tx, i, min(i+1000, n)) })
		if err != nil {
			b.Fatal(err)
		}
	}
	benchSeeded = n
}

func seedChunk(tx *outbox.Tx, from, to int) error {
	users := map[string]*connectors.User{}
	for j := from; j < to; j++ {
		person := fmt.Sprintf("p%d", j)
		users[person] = &connectors.User{Anchor: person, UserName: person + "@corp.example", Active: true, Attributes: map[string]any{"title": "old"}}
		if _, err := tx.Enqueue(outbox.NewRequest{App: "app", PersonID: person, Op: connectors.OpCreate, Target: users[person]}); err != nil {
			return err
		}
	}
	work, err := tx.Claim("app", to-from, time.Now(), func(op connectors.Operation) bool { return op == connectors.OpUpdate })
	if err != nil || len(work) != to-from {
		return fmt.Errorf("seed claim: %v, %d of %d", err, len(work), to-from)
	}
	for _, w := range work {
		if w.Request.Op != connectors.OpCreate {
			return fmt.Errorf("seed claimed a %s", w.Request.Op)
		}
		if err := tx.Complete(w.Request.ID, connectors.Account{ExternalID: "ext-" + w.Request.PersonID, Status: connectors.StatusActive}); err != nil {
			return err
		}
	}
	for person, u := range users {
		nu := *u
		nu.Attributes = map[string]any{"title": "new"}
		if err := tx.SetDesired("app", person, &nu); err != nil {
			return err
		}
		if _, err := tx.Enqueue(outbox.NewRequest{App: "app", PersonID: person, Op: connectors.OpUpdate, Target: &nu}); err != nil {
			return err
		}
	}
	return nil
}
