package scim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dirbridge/dirbridge/connectors"
)

// dialectCase is one recorded conversation with a provider of a dialect
// (testdata/dialects/*.json): the request dirbridge applies, every HTTP
// exchange the connector must make, in order, with the answers the
// provider gives, and the outcome.
type dialectCase struct {
	Profile string `json:"profile"`
	Source  string `json:"source"` // where the provider's behaviour comes from
	Request struct {
		Op        connectors.Operation `json:"op"`
		Desired   connectors.User      `json:"desired"`
		Confirmed *connectors.User     `json:"confirmed"`
		Account   connectors.Account   `json:"account"`
		Changed   []string             `json:"changed"`
	} `json:"request"`
	Want struct {
		Account    *connectors.Account `json:"account"`
		Class      string              `json:"class"`
		RetryAfter string              `json:"retryAfter"`
	} `json:"want"`
	Exchanges []recordedExchange `json:"exchanges"`
}

type recordedExchange struct {
	Method   string            `json:"method"`
	Path     string            `json:"path"` // below the base URL, with the query
	Body     json.RawMessage   `json:"body"` // the request body the connector must send (JSON-equal)
	Status   int               `json:"status"`
	Headers  map[string]string `json:"headers"`
	Response json.RawMessage   `json:"response"`
}

// replay serves the recorded answers and fails the test on any request
// that differs from the recording.
type replay struct {
	t    *testing.T
	mu   sync.Mutex
	next int
	want []recordedExchange
}

func (rp *replay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	if rp.next >= len(rp.want) {
		rp.t.Errorf("unexpected request %d: %s %s %s", rp.next+1, r.Method, r.URL.RequestURI(), body)
		w.WriteHeader(599)
		return
	}
	x := rp.want[rp.next]
	rp.next++
	if err := x.matches(r, body); err != nil {
		rp.t.Errorf("exchange %d: %v", rp.next, err)
		w.WriteHeader(599)
		return
	}
	for k, v := range x.Headers {
		w.Header().Set(k, v)
	}
	if len(x.Response) > 0 {
		w.Header().Set("Content-Type", "application/scim+json")
	}
	w.WriteHeader(x.Status)
	_, _ = w.Write(x.Response)
}

func (x recordedExchange) matches(r *http.Request, body []byte) error {
	got := r.Method + " " + strings.TrimPrefix(r.URL.Path, "/scim/v2")
	wantPath, wantQuery, _ := strings.Cut(x.Path, "?")
	if want := x.Method + " " + wantPath; got != want {
		return fmt.Errorf("got %s, want %s", got, want)
	}
	if wq, _ := url.ParseQuery(wantQuery); !reflect.DeepEqual(map[string][]string(wq), map[string][]string(r.URL.Query())) &&
		!(len(wq) == 0 && len(r.URL.Query()) == 0) {
		return fmt.Errorf("%s: query %v, want %v", got, r.URL.Query(), wq)
	}
	if len(x.Body) == 0 {
		return nil
	}
	var gotBody, wantBody any
	if err := json.Unmarshal(body, &gotBody); err != nil {
		return fmt.Errorf("%s: body is not JSON: %s", got, body)
	}
	_ = json.Unmarshal(x.Body, &wantBody)
	if !reflect.DeepEqual(gotBody, wantBody) {
		return fmt.Errorf("%s: body\n got %s\nwant %s", got, body, x.Body)
	}
	return nil
}

func TestDialectFixtures(t *testing.T) {
	files, _ := filepath.Glob("testdata/dialects/*.json")
	if len(files) < 6 {
		t.Fatalf("found %d dialect fixtures", len(files))
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) { runDialectCase(t, file) })
	}
}

func runDialectCase(t *testing.T, file string) {
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var dc dialectCase
	if err := json.Unmarshal(b, &dc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	rp := &replay{t: t, want: dc.Exchanges}
	f := newFake(t, rp.ServeHTTP)
	c := f.connector(t, Config{Profile: dc.Profile, Patch: "auto"})
	req := connectors.Request{Op: dc.Request.Op, Desired: dc.Request.Desired, Confirmed: dc.Request.Confirmed,
		Account: dc.Request.Account, Changed: dc.Request.Changed, Attempt: 1}
	acct, err := c.Apply(testCtx(t), req)
	checkOutcome(t, dc, acct, err)
	if rp.next != len(rp.want) {
		t.Errorf("%d of %d recorded exchanges made", rp.next, len(rp.want))
	}
}

func checkOutcome(t *testing.T, dc dialectCase, acct connectors.Account, err error) {
	t.Helper()
	if dc.Want.Class != "" {
		class, after := connectors.ClassOf(err)
		wantAfter, _ := time.ParseDuration(dc.Want.RetryAfter)
		if err == nil || class.String() != dc.Want.Class || after != wantAfter {
			t.Errorf("err = %v (%s after %s), want %s after %s", err, class, after, dc.Want.Class, wantAfter)
		}
		return
	}
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if dc.Want.Account != nil && acct != *dc.Want.Account {
		t.Errorf("account = %+v, want %+v", acct, *dc.Want.Account)
	}
}
