// Package ldif is a directory source that reads people and groups from an
// LDIF file: the demo's directory, and a way to test mapping files offline.
// The file is watched; when it changes, the entries that changed (compared
// by stable id and content) become a page, and entries missing from the file
// are reported as deleted.
//
// Config:
//
//	directory:
//	  type: ldif
//	  settings:
//	    path: people.ldif        # relative to the config file
//	    pollInterval: 1s         # how often the file is checked for changes
//
// Every entry needs a stable id: objectGUID (AD style, base64 in LDIF) or
// entryUUID. Groups are entries whose objectClass is group, groupOfNames or
// groupOfUniqueNames; their member values are DNs of entries in the file.
package ldif

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	goldif "github.com/go-ldap/ldif"

	"github.com/dirbridge/dirbridge/directory"
)

func init() { directory.Register("ldif", New) }

// Settings configure the source.
type Settings struct {
	Path         string        `yaml:"path"`
	PollInterval time.Duration `yaml:"pollInterval"`
}

// Source reads an LDIF file.
type Source struct {
	path     string
	interval time.Duration
}

// New creates the source from the agent config.
func New(env directory.Env) (directory.Source, error) {
	var s Settings
	if err := env.Decode(&s); err != nil {
		return nil, err
	}
	if s.Path == "" {
		return nil, fmt.Errorf("ldif: settings.path is required")
	}
	if !filepath.IsAbs(s.Path) {
		s.Path = filepath.Join(env.BaseDir, s.Path)
	}
	return Open(s), nil
}

// Open returns a source for the settings.
func Open(s Settings) *Source {
	if s.PollInterval <= 0 {
		s.PollInterval = time.Second
	}
	return &Source{path: s.Path, interval: s.PollInterval}
}

// Describe says how changes are followed.
func (s *Source) Describe() string {
	return fmt.Sprintf("LDIF file %s, checked every %s", s.path, s.interval)
}

// Close releases nothing; the file is read on demand.
func (s *Source) Close() error { return nil }

// cursor remembers the file's digest and a content hash per entry id.
type cursor struct {
	File    string            `json:"file"`
	Entries map[string]string `json:"entries"`
}

const pageSize = 500

// FullRead streams every entry of the file.
func (s *Source) FullRead(ctx context.Context, h directory.Handler) ([]byte, error) {
	snap, err := s.read()
	if err != nil {
		return nil, err
	}
	for i := 0; i < len(snap.entries); i += pageSize {
		page := directory.Page{Entries: snap.entries[i:min(i+pageSize, len(snap.entries))]}
		if err := h(ctx, page); err != nil {
			return nil, err
		}
	}
	return snap.cursor()
}

// Watch checks the file every interval and delivers what changed.
func (s *Source) Watch(ctx context.Context, cur []byte, h directory.Handler) error {
	var last cursor
	if err := json.Unmarshal(cur, &last); err != nil || last.Entries == nil {
		return fmt.Errorf("ldif: unreadable cursor: %w", directory.ErrFullReadRequired)
	}
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		digest, err := fileDigest(s.path)
		if err != nil {
			return err
		}
		if digest != last.File {
			if last, err = s.deliverChanges(ctx, last, h); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (s *Source) deliverChanges(ctx context.Context, last cursor, h directory.Handler) (cursor, error) {
	snap, err := s.read()
	if err != nil {
		return last, err
	}
	next := snap.state()
	var page directory.Page
	for _, e := range snap.entries {
		if last.Entries[e.ID] != next.Entries[e.ID] {
			page.Entries = append(page.Entries, e)
		}
	}
	for id := range last.Entries {
		if _, ok := next.Entries[id]; !ok {
			page.Deleted = append(page.Deleted, id)
		}
	}
	sort.Strings(page.Deleted)
	if page.Cursor, err = json.Marshal(next); err != nil {
		return last, err
	}
	return next, h(ctx, page)
}

type snapshot struct {
	digest  string
	entries []directory.Entry
}

func (sn *snapshot) state() cursor {
	c := cursor{File: sn.digest, Entries: make(map[string]string, len(sn.entries))}
	for _, e := range sn.entries {
		c.Entries[e.ID] = entryHash(e)
	}
	return c
}

func (sn *snapshot) cursor() ([]byte, error) { return json.Marshal(sn.state()) }

// read parses the whole file. LDIF is the demo and test source; real
// directories are read page by page by directory/ldap.
func (s *Source) read() (*snapshot, error) {
	f, err := os.Open(s.path)
	if err != nil {
		return nil, fmt.Errorf("ldif: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	var raw []*goldif.Entry
	for e, err := range goldif.UnmarshalEntries(io.TeeReader(f, h), &goldif.LDIF{}) {
		if err != nil {
			return nil, fmt.Errorf("ldif: %s: %w", s.path, err)
		}
		if e.Entry != nil {
			raw = append(raw, e)
		}
	}
	entries, err := convert(s.path, raw)
	if err != nil {
		return nil, err
	}
	return &snapshot{digest: hex.EncodeToString(h.Sum(nil)), entries: entries}, nil
}

func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("ldif: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("ldif: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// convert turns parsed entries into directory entries, resolving group
// member DNs to ids.
func convert(path string, raw []*goldif.Entry) ([]directory.Entry, error) {
	ids := make(map[string]string, len(raw))
	out := make([]directory.Entry, 0, len(raw))
	for _, r := range raw {
		e, err := toEntry(r)
		if err != nil {
			return nil, fmt.Errorf("ldif: %s: %w", path, err)
		}
		if prev, dup := ids[directory.NormalizeDN(e.DN)]; dup {
			return nil, fmt.Errorf("ldif: %s: DN %q appears twice (ids %s and %s)", path, e.DN, prev, e.ID)
		}
		ids[directory.NormalizeDN(e.DN)] = e.ID
		out = append(out, e)
	}
	seen := map[string]string{}
	for i := range out {
		if dn, dup := seen[out[i].ID]; dup {
			return nil, fmt.Errorf("ldif: %s: id %s is used by %q and %q", path, out[i].ID, dn, out[i].DN)
		}
		seen[out[i].ID] = out[i].DN
		if out[i].Kind == directory.KindGroup {
			out[i].Members = resolveMembers(out[i], ids)
		}
	}
	return out, nil
}

func resolveMembers(g directory.Entry, ids map[string]string) []string {
	members := []string{}
	for _, attr := range []string{"member", "uniquemember"} {
		for _, dn := range g.Attributes[attr] {
			if id, ok := ids[directory.NormalizeDN(dn)]; ok {
				members = append(members, id)
			}
		}
	}
	sort.Strings(members)
	return members
}

func toEntry(r *goldif.Entry) (directory.Entry, error) {
	e := directory.Entry{DN: r.Entry.DN, Attributes: map[string][]string{}}
	for _, a := range r.Entry.Attributes {
		name := strings.ToLower(a.Name)
		e.Attributes[name] = append(e.Attributes[name], a.Values...)
	}
	e.Kind = kindOf(e.Attributes["objectclass"])
	switch {
	case len(e.Attributes["objectguid"]) > 0:
		id, err := directory.FormatGUID([]byte(e.Attributes["objectguid"][0]))
		if err != nil {
			return e, fmt.Errorf("entry %q: %w", e.DN, err)
		}
		e.ID = id
	case len(e.Attributes["entryuuid"]) > 0:
		e.ID = strings.ToLower(e.Attributes["entryuuid"][0])
	default:
		return e, fmt.Errorf("entry %q has neither objectGUID nor entryUUID: dirbridge keys people by a stable id, never by DN", e.DN)
	}
	return e, nil
}

func kindOf(classes []string) directory.Kind {
	for _, c := range classes {
		switch strings.ToLower(c) {
		case "group", "groupofnames", "groupofuniquenames":
			return directory.KindGroup
		}
	}
	return directory.KindPerson
}

// entryHash fingerprints an entry's content for change detection.
func entryHash(e directory.Entry) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%s\x00", e.DN, e.Kind)
	names := make([]string, 0, len(e.Attributes))
	for n := range e.Attributes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%q\x00", n, e.Attributes[n])
	}
	fmt.Fprintf(h, "%q", e.Members)
	return fmt.Sprintf("%016x", h.Sum64())
}

// Lookup reads the file and returns the person whose attribute equals value
// (case-insensitive, as LDAP matches names).
func (s *Source) Lookup(ctx context.Context, attr, value string) (*directory.Entry, error) {
	snap, err := s.read()
	if err != nil {
		return nil, err
	}
	attr = strings.ToLower(attr)
	for i := range snap.entries {
		e := &snap.entries[i]
		if e.Kind != directory.KindPerson {
			continue
		}
		for _, v := range e.Attributes[attr] {
			if strings.EqualFold(v, value) {
				return e, nil
			}
		}
	}
	return nil, fmt.Errorf("ldif: no person with %s=%q: %w", attr, value, directory.ErrNotFound)
}
