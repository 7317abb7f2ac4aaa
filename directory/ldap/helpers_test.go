package ldap

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	neturl "net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/goccy/go-yaml"
	"github.com/rs/zerolog"

	"github.com/dirbridge/dirbridge/directory"
)

// testLogger writes the source's log into the test output.
func testLogger(t testing.TB) zerolog.Logger {
	return zerolog.New(zerolog.ConsoleWriter{Out: testWriter{t}, NoColor: true}).Level(zerolog.InfoLevel)
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// decodeYAML decodes settings strictly, as the agent's Env.Decode does.
func decodeYAML(src string) func(v any) error {
	return func(v any) error {
		return yaml.UnmarshalWithOptions([]byte(src), v, yaml.Strict())
	}
}

// newSource builds a source the way the agent does: through the registry.
func newSource(t testing.TB, settings string, attrs ...string) *Source {
	t.Helper()
	src, err := directory.New("ldap", directory.Env{Logger: testLogger(t), Decode: decodeYAML(settings), Attributes: attrs})
	if err != nil {
		t.Fatalf("new source: %v", err)
	}
	t.Cleanup(func() { src.Close() })
	return src.(*Source)
}

// readResult is everything one full read delivered.
type readResult struct {
	byDN   map[string]directory.Entry // lower-case DN
	byID   map[string]directory.Entry
	pages  int
	cursor []byte
}

func fullRead(t testing.TB, src *Source) readResult {
	t.Helper()
	r, err := tryFullRead(src)
	if err != nil {
		t.Fatalf("full read: %v", err)
	}
	return r
}

func tryFullRead(src *Source) (readResult, error) {
	r := readResult{byDN: map[string]directory.Entry{}, byID: map[string]directory.Entry{}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cur, err := src.FullRead(ctx, func(_ context.Context, p directory.Page) error {
		r.pages++
		for _, e := range p.Entries {
			r.byDN[strings.ToLower(e.DN)] = e
			r.byID[e.ID] = e
		}
		return nil
	})
	r.cursor = cur
	return r, err
}

func (r readResult) get(t testing.TB, dn string) directory.Entry {
	t.Helper()
	e, ok := r.byDN[strings.ToLower(dn)]
	if !ok {
		t.Fatalf("entry %q not in the read (%d entries)", dn, len(r.byDN))
	}
	return e
}

// memberDNs maps a group's member IDs back to lower-case DNs of the read.
func (r readResult) memberDNs(t testing.TB, g directory.Entry) []string {
	t.Helper()
	var dns []string
	for _, id := range g.Members {
		e, ok := r.byID[id]
		if !ok {
			t.Fatalf("group %q: member id %s is not an entry of the read", g.DN, id)
		}
		dns = append(dns, strings.ToLower(e.DN))
	}
	return dns
}

func nonce() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// adminConn binds as the directory administrator to create test data.
func adminConn(t testing.TB, url, caFile, dn, pw string) *goldap.Conn {
	t.Helper()
	tc, err := buildTLSConfig(TLS{CAFile: caFile})
	if err != nil {
		t.Fatal(err)
	}
	tc.ServerName = urlHost(url)
	c, err := goldap.DialURL(url, goldap.DialWithTLSConfig(tc))
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	if err := c.Bind(dn, pw); err != nil {
		c.Close()
		t.Fatalf("admin bind to %s: %v", url, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func mustAdd(t testing.TB, c *goldap.Conn, dn string, attrs map[string][]string) {
	t.Helper()
	req := goldap.NewAddRequest(dn, nil)
	for k, v := range attrs {
		req.Attribute(k, v)
	}
	if err := c.Add(req); err != nil {
		t.Fatalf("add %s: %v", dn, err)
	}
}

func mustModify(t testing.TB, c *goldap.Conn, dn string, f func(*goldap.ModifyRequest)) {
	t.Helper()
	req := goldap.NewModifyRequest(dn, nil)
	f(req)
	if err := c.Modify(req); err != nil {
		t.Fatalf("modify %s: %v", dn, err)
	}
}

// treeDelete removes a test subtree (AD's tree-delete control; OpenLDAP
// gets the children deleted deepest first).
func treeDelete(c *goldap.Conn, dn string, ad bool) {
	if ad {
		c.Del(goldap.NewDelRequest(dn, []goldap.Control{goldap.NewControlSubtreeDelete()}))
		return
	}
	res, err := c.Search(goldap.NewSearchRequest(dn, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{"1.1"}, nil))
	if err != nil {
		return
	}
	for i := len(res.Entries) - 1; i >= 0; i-- { // parents come first in a subtree search
		c.Del(goldap.NewDelRequest(res.Entries[i].DN, nil))
	}
}

// yamlQuote quotes a value for the settings YAML.
func yamlQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

var onceErrs sync.Map

// once runs f once per process under key (shared fixtures) and remembers its error.
func once(key string, f func() error) error {
	v, _ := onceErrs.LoadOrStore(key, &onceResult{})
	r := v.(*onceResult)
	r.once.Do(func() { r.err = f() })
	return r.err
}

type onceResult struct {
	once sync.Once
	err  error
}

func isRoot() bool { return os.Geteuid() == 0 }

// urlHost is the host of an ldap(s):// URL (the test certificates name the IPs).
func urlHost(raw string) string {
	u, err := neturl.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Hostname()
}
