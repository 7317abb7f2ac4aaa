package agent

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dirbridge/dirbridge/directory"
	"github.com/dirbridge/dirbridge/outbox"
)

// roundSource is a directory of five people in one group whose Watch
// delivers one change round: all five deleted, in two pages (More on the
// first), as a paged poll does.
type roundSource struct{}

func (roundSource) people() []directory.Entry {
	var out []directory.Entry
	for i := 0; i < 5; i++ {
		out = append(out, directory.Entry{ID: fmt.Sprintf("p%d", i), DN: fmt.Sprintf("cn=p%d,ou=t", i), Kind: directory.KindPerson,
			Attributes: map[string][]string{"uid": {fmt.Sprintf("p%d", i)}, "employeenumber": {fmt.Sprint(i)}}})
	}
	return out
}

func (s roundSource) FullRead(ctx context.Context, h directory.Handler) ([]byte, error) {
	g := directory.Entry{ID: "g", DN: "cn=g,ou=t", Kind: directory.KindGroup, Attributes: map[string][]string{}}
	for _, p := range s.people() {
		g.Members = append(g.Members, p.ID)
	}
	if err := h(ctx, directory.Page{Entries: append(s.people(), g)}); err != nil {
		return nil, err
	}
	return []byte("c0"), nil
}

func (roundSource) Watch(ctx context.Context, cursor []byte, h directory.Handler) error {
	if string(cursor) == "c0" {
		if err := h(ctx, directory.Page{Deleted: []string{"p0", "p1", "p2", "p3"}, Cursor: []byte("c1"), More: true}); err != nil {
			return err
		}
		if err := h(ctx, directory.Page{Deleted: []string{"p4"}, Cursor: []byte("c2")}); err != nil {
			return err
		}
	}
	<-ctx.Done()
	return ctx.Err()
}

func (roundSource) Describe() string { return "a test source with one change round" }
func (roundSource) Close() error     { return nil }

func init() {
	directory.Register("test-rounds", func(directory.Env) (directory.Source, error) { return roundSource{}, nil })
}

// TestAChangeRoundIsOneBatch: a round of five deletions in two pages is held
// whole by a guard that admits three; treated page by page, its last page
// (one deletion) would have gone out.
func TestAChangeRoundIsOneBatch(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "mapping.yaml"), `scope:
  users: {base: "ou=t"}
identity:
  anchor: employeeNumber
  userName: uid + "@example.test"
apps:
  wiki:
    assign:
      - group: "cn=g,ou=t"
    attributes:
      userName: identity.userName
`)
	writeFile(t, filepath.Join(dir, "agent.yaml"), strings.Join([]string{"state: {path: state.db}",
		"directory: {type: test-rounds}", "mapping: {files: [mapping.yaml]}", "apps:", "  wiki: {connector: mock}",
		"status: {listen: '127.0.0.1:0'}", "guard: {maxDeactivations: 3}", ""}, "\n"))
	w := &world{t: t, dir: dir}
	w.startConfig("agent.yaml", Options{})
	t.Cleanup(w.stop)
	w.waitFor("the round held whole", func(tx *outbox.Tx) bool {
		c := tx.Counts("wiki")
		return c[outbox.StateCompleted] == 5 && c[outbox.StateAwaitingApproval] == 5
	})
}
