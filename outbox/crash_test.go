package outbox

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dirbridge/dirbridge/connectors"
)

// The crash test re-runs this test binary as a child that writes through the
// real API and prints each request id after its Update returned (so after
// fsync). The parent SIGKILLs it at random moments, reopens the file, and
// checks that every acknowledged request is there exactly once and every
// invariant holds. DIRBRIDGE_CRASH_RUNS sets the number of kills (make chaos
// runs more).

const crashChildEnv = "DIRBRIDGE_OUTBOX_CRASH_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path)
		return
	}
	os.Exit(m.Run())
}

// crashChild runs producers and a worker until killed.
func crashChild(path string) {
	s, err := Open(path, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		os.Exit(3)
	}
	acks := make(chan string, 1024)
	run := os.Getenv("DIRBRIDGE_CRASH_RUN")
	for p := 0; p < 16; p++ {
		go crashProducer(s, run, p, acks)
	}
	go crashWorker(s)
	w := bufio.NewWriter(os.Stdout)
	for a := range acks {
		fmt.Fprintln(w, a)
		if len(acks) == 0 {
			w.Flush()
		}
	}
}

func crashProducer(s *Store, run string, p int, acks chan<- string) {
	ops := []connectors.Operation{connectors.OpCreate, connectors.OpUpdate, connectors.OpDeactivate}
	for n := 0; ; n++ {
		token := fmt.Sprintf("%s-%d-%d", run, p, n)
		person := fmt.Sprintf("person-%d", rand.IntN(200))
		var id uint64
		err := s.Update(context.Background(), func(tx *Tx) error {
			if err := tx.PutCursor("src-"+strconv.Itoa(p), []byte(token)); err != nil {
				return err
			}
			u := &connectors.User{Anchor: person, UserName: person, Active: true,
				Attributes: map[string]any{"note": strings.Repeat("x", 300)}}
			if err := tx.SetDesired("app", person, u); err != nil {
				return err
			}
			r, err := tx.Enqueue(NewRequest{App: "app", PersonID: person, Op: ops[rand.IntN(len(ops))], Reason: token, Target: u})
			id = r.ID
			return err
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "child update:", err)
			os.Exit(4)
		}
		acks <- fmt.Sprintf("%d %s", id, token)
	}
}

func crashWorker(s *Store) {
	for {
		var work []Work
		_ = s.Update(context.Background(), func(tx *Tx) error {
			var err error
			work, err = tx.Claim("app", 8, time.Now().Add(time.Hour), nil)
			return err
		})
		for _, w := range work {
			_ = s.Update(context.Background(), func(tx *Tx) error {
				if w.Request.ID%3 == 0 {
					_, err := tx.Fail(w.Request.ID, errors.New("transient"), RetryPolicy{})
					return err
				}
				return tx.Complete(w.Request.ID, connectors.Account{ExternalID: "x-" + w.Request.PersonID, Status: connectors.StatusActive})
			})
		}
		if len(work) == 0 {
			time.Sleep(time.Millisecond) // nothing due: a real dispatcher waits on NextDue
		}
	}
}

func crashRuns() int {
	if n, err := strconv.Atoi(os.Getenv("DIRBRIDGE_CRASH_RUNS")); err == nil && n > 0 {
		return n
	}
	return 40 // make chaos runs 300
}

func TestCrashKillsLoseNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test spawns processes; not in -short")
	}
	path := filepath.Join(t.TempDir(), "state.db")
	acked := map[uint64]string{}
	const minAcks = 20
	for run := 0; run < crashRuns(); run++ {
		got := runAndKill(t, path, run, minAcks)
		for id, tok := range got {
			if prev, dup := acked[id]; dup && prev != tok {
				t.Fatalf("request id %d acknowledged twice, for %s and %s", id, prev, tok)
			}
			acked[id] = tok
		}
		verifyAfterCrash(t, path, acked)
	}
	t.Logf("%d kills, %d acknowledged requests all present exactly once", crashRuns(), len(acked))
}

// runAndKill starts a child, reads at least min acknowledgements, waits a
// random moment, and SIGKILLs it.
func runAndKill(t *testing.T, path string, run, min int) map[uint64]string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path, "DIRBRIDGE_CRASH_RUN=r"+strconv.Itoa(run))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	got := map[uint64]string{}
	sc := bufio.NewScanner(out)
	killAt := min + rand.IntN(200)
	for sc.Scan() {
		id, tok, _ := strings.Cut(sc.Text(), " ")
		n, _ := strconv.ParseUint(id, 10, 64)
		got[n] = tok
		if len(got) == killAt {
			time.AfterFunc(time.Duration(rand.IntN(3000))*time.Microsecond, func() { _ = cmd.Process.Signal(syscall.SIGKILL) })
		}
	}
	_ = cmd.Wait()
	if len(got) < min {
		t.Fatalf("run %d: child acknowledged only %d requests before it died (want >= %d)", run, len(got), min)
	}
	return got
}

func verifyAfterCrash(t *testing.T, path string, acked map[uint64]string) {
	t.Helper()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()
	err = s.View(func(tx *Tx) error {
		byToken := map[string]int{}
		if err := tx.btx.Bucket(bRequests).ForEach(func(k, v []byte) error {
			r, err := tx.Request(getU64(k))
			byToken[r.Reason]++
			return err
		}); err != nil {
			return err
		}
		for id, tok := range acked {
			r, err := tx.Request(id)
			if err != nil || r.Reason != tok {
				return fmt.Errorf("acknowledged request %d (%s) lost or changed: %v %q", id, tok, err, r.Reason)
			}
			if byToken[tok] != 1 {
				return fmt.Errorf("request %s stored %d times", tok, byToken[tok])
			}
		}
		if n := tx.btx.Bucket(bInflight).Stats().KeyN; n != 0 {
			return fmt.Errorf("%d requests still marked in flight after recovery", n)
		}
		return tx.CheckInvariants()
	})
	if err != nil {
		t.Fatal(err)
	}
}
