package ldap

import (
	"context"
	"errors"
	"fmt"
	"sync"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"
)

const (
	// resolveWorkers bounds the base searches in flight on one connection:
	// enough to hide loopback/LAN latency, few enough not to flood slapd.
	resolveWorkers = 8
	// maxDNCache bounds the DN -> entryUUID cache (~150 bytes an entry), so a
	// huge directory cannot grow the heap without limit; past it, lookups
	// are simply repeated.
	maxDNCache = 100_000
)

// dnResolver turns member DNs into entryUUIDs for servers without AD's
// extended-DN control, with a cache shared by all groups of one read.
type dnResolver struct {
	sess  *session
	log   zerolog.Logger
	mu    sync.Mutex
	cache map[string]string // DN as the server sent it -> entryUUID, "" = does not exist
	count int               // lookups sent
}

func (d *dnResolver) lookups() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.count
}

func newDNResolver(sess *session, log zerolog.Logger) *dnResolver {
	return &dnResolver{sess: sess, log: log, cache: map[string]string{}}
}

// resolve returns the entryUUIDs of dns in order. A DN that does not exist
// (a dangling member, common without referential integrity) or is not a
// valid DN is skipped and logged; a network error fails the read.
func (d *dnResolver) resolve(ctx context.Context, dns []string) ([]string, error) {
	ids := make([]string, len(dns))
	var todo []int
	d.mu.Lock()
	for i, dn := range dns {
		if id, ok := d.cache[dn]; ok {
			ids[i] = id
		} else {
			todo = append(todo, i)
		}
	}
	d.mu.Unlock()
	if err := d.lookupAll(ctx, dns, todo, ids); err != nil {
		return nil, err
	}
	out := ids[:0]
	for _, id := range ids {
		if id != "" {
			out = append(out, id)
		}
	}
	return out, nil
}

// lookupAll resolves dns[i] for every i in todo with bounded concurrency.
func (d *dnResolver) lookupAll(ctx context.Context, dns []string, todo []int, ids []string) error {
	work := make(chan int)
	errs := make([]error, resolveWorkers)
	var wg sync.WaitGroup
	for w := 0; w < resolveWorkers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := range work {
				if errs[w] != nil {
					continue // drain; the first error wins
				}
				ids[i], errs[w] = d.lookup(dns[i])
			}
		}(w)
	}
	for _, i := range todo {
		if ctx.Err() != nil {
			break
		}
		work <- i
	}
	close(work)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.Join(errs...)
}

// learn caches a DN seen as an entry (people pages), saving a lookup later.
func (d *dnResolver) learn(dn, id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.cache) < maxDNCache {
		d.cache[dn] = id
	}
}

func (d *dnResolver) lookup(dn string) (string, error) {
	req := goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"entryUUID"}, nil)
	res, err := d.sess.conn.Search(req)
	id := ""
	switch {
	case goldap.IsErrorAnyOf(err, goldap.LDAPResultNoSuchObject, goldap.LDAPResultInvalidDNSyntax):
		d.log.Warn().Str("member", dn).Msg("member DN does not exist or is not a DN; skipped")
	case err != nil:
		return "", opError{server: d.sess.server, op: "resolve member " + dn}.classify(err)
	case len(res.Entries) == 1:
		if id, err = canonicalUUID(res.Entries[0].GetAttributeValue("entryUUID")); err != nil {
			return "", fmt.Errorf("directory/ldap: member %q: %w", dn, err)
		}
	}
	d.learn(dn, id)
	d.mu.Lock()
	d.count++
	d.mu.Unlock()
	return id, nil
}

// readContextCSN reads the suffix's contextCSN: the watermark from which
// entryCSN polling or a syncrepl cookie continues; empty without syncprov.
func readContextCSN(sess *session) ([]string, error) {
	req := goldap.NewSearchRequest(sess.baseDN, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"contextCSN"}, nil)
	res, err := sess.conn.Search(req)
	if err != nil {
		return nil, err
	}
	if len(res.Entries) != 1 {
		return nil, fmt.Errorf("base DN %q not found", sess.baseDN)
	}
	return res.Entries[0].GetAttributeValues("contextCSN"), nil
}
