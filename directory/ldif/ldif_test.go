package ldif

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dirbridge/dirbridge/directory"
)

const base = `dn: cn=Ann,ou=people,dc=x
objectClass: inetOrgPerson
entryUUID: 11111111-1111-1111-1111-111111111111
cn: Ann
mail: ann@x

dn: cn=Bob,ou=people,dc=x
objectClass: inetOrgPerson
entryUUID: 22222222-2222-2222-2222-222222222222
cn: Bob
description:: /w==

dn: cn=Staff,ou=groups,dc=x
objectClass: groupOfNames
entryUUID: 33333333-3333-3333-3333-333333333333
member: cn=Ann,ou=people,dc=x
member: CN=Bob, OU=people,DC=x
member: cn=Nobody,ou=people,dc=x
`

func write(t *testing.T, dir, text string) string {
	t.Helper()
	p := filepath.Join(dir, "d.ldif")
	if err := os.WriteFile(p+".tmp", []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p+".tmp", p); err != nil {
		t.Fatal(err)
	}
	return p
}

func fullRead(t *testing.T, s *Source) ([]directory.Entry, []byte) {
	t.Helper()
	var got []directory.Entry
	cur, err := s.FullRead(context.Background(), func(_ context.Context, p directory.Page) error {
		got = append(got, p.Entries...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, cur
}

func TestFullReadResolvesMembersAndKeepsBinaryValues(t *testing.T) {
	s := Open(Settings{Path: write(t, t.TempDir(), base)})
	got, cur := fullRead(t, s)
	if len(got) != 3 || cur == nil {
		t.Fatalf("got %d entries, cursor %q", len(got), cur)
	}
	if got[1].Attr("description") != "\xff" {
		t.Errorf("binary value = %q, want the raw byte", got[1].Attr("description"))
	}
	g := got[2]
	if g.Kind != directory.KindGroup || strings.Join(g.Members, ",") != "11111111-1111-1111-1111-111111111111,22222222-2222-2222-2222-222222222222" {
		t.Errorf("group = %+v; members must be ids, a DN written differently must resolve and a missing one be dropped", g)
	}
}

func TestWatchDeliversOnlyWhatChanged(t *testing.T) {
	dir := t.TempDir()
	path := write(t, dir, base)
	s := Open(Settings{Path: path, PollInterval: 10 * time.Millisecond})
	_, cur := fullRead(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	changed := strings.Replace(base, "mail: ann@x", "mail: ann@y", 1)
	changed = changed[:strings.Index(changed, "dn: cn=Bob")] + changed[strings.Index(changed, "dn: cn=Staff"):]
	pages := make(chan directory.Page, 1)
	go func() {
		_ = s.Watch(ctx, cur, func(_ context.Context, p directory.Page) error { pages <- p; cancel(); return nil })
	}()
	write(t, dir, changed)
	select {
	case p := <-pages:
		ids := []string{}
		for _, e := range p.Entries {
			ids = append(ids, e.ID[:8])
		}
		if strings.Join(ids, ",") != "11111111,33333333" || strings.Join(p.Deleted, ",") != "22222222-2222-2222-2222-222222222222" || p.Cursor == nil {
			t.Fatalf("page: changed %v, deleted %v; want Ann and the group changed, Bob deleted", ids, p.Deleted)
		}
	case <-ctx.Done():
		t.Fatal("no page after the file changed")
	}
}

func TestBadFilesGiveClearErrors(t *testing.T) {
	cases := map[string]struct{ text, want string }{
		"no stable id": {"dn: cn=x,dc=x\nobjectClass: person\ncn: x\n", "neither objectGUID nor entryUUID"},
		"duplicate DN": {"dn: cn=x,dc=x\nentryUUID: 1\n\ndn: CN=x,dc=x\nentryUUID: 2\n", "appears twice"},
		"duplicate id": {"dn: cn=x,dc=x\nentryUUID: 1\n\ndn: cn=y,dc=x\nentryUUID: 1\n", "is used by"},
		"short GUID":   {"dn: cn=x,dc=x\nobjectGUID:: AAEC\n", "objectGUID has 3 bytes"},
		"not LDIF":     {"this is not ldif\n", "d.ldif"},
		"bad base64":   {"dn: cn=x,dc=x\nentryUUID: 1\ncn:: !!!\n", "d.ldif"},
		"missing file": {"", "no such file"},
		"bad cursor":   {base, "full read required"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "d.ldif")
			if name != "missing file" {
				path = write(t, dir, c.text)
			}
			s := Open(Settings{Path: path})
			var err error
			if name == "bad cursor" {
				err = s.Watch(context.Background(), []byte("garbage"), nil)
				if !errors.Is(err, directory.ErrFullReadRequired) {
					t.Fatalf("err = %v, want ErrFullReadRequired", err)
				}
			} else {
				_, err = s.FullRead(context.Background(), func(context.Context, directory.Page) error { return nil })
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
}
