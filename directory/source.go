// Package directory defines how dirbridge reads people and groups from a
// directory (Active Directory, an LDAP server, or an LDIF file) and follows
// their changes.
//
// A Source streams entries page by page; it never holds the whole directory in
// memory. Every entry is keyed by a stable identifier (AD objectGUID, LDAP
// entryUUID, in canonical string form), never by DN, so renames and moves are
// ordinary updates.
//
// Implementations live in sub-packages: directory/ldif (demo and offline
// tests) and directory/ldap (Active Directory and LDAP servers).
package directory

import (
	"context"
	"strings"
)

// Kind says what an entry is.
type Kind string

const (
	KindPerson Kind = "person"
	KindGroup  Kind = "group"
)

// Entry is one directory object as read from the source.
//
// Attribute names are lower-cased (LDAP attribute names are case-insensitive);
// values are the raw strings the server sent (binary values are carried as
// their bytes). A Source converts objectGUID and entryUUID to canonical
// strings in ID and leaves other values untouched.
type Entry struct {
	ID         string              // stable id: objectGUID or entryUUID, canonical lower-case string
	DN         string              // current distinguished name
	Kind       Kind                // person or group
	Attributes map[string][]string // lower-cased name -> values

	// Partial is set when Attributes holds only the attributes that changed
	// (AD DirSync): the consumer merges them into its stored snapshot instead
	// of replacing it.
	Partial bool

	// Members holds the IDs of the direct members of a group (people and
	// groups). Members is authoritative (the whole list) unless MembersDelta is
	// set, in which case MembersAdded and MembersRemoved say what changed.
	Members        []string
	MembersDelta   bool
	MembersAdded   []string
	MembersRemoved []string

	// PrimaryGroup is the ID of an AD person's primary group (from
	// primaryGroupID), which AD never lists in the group's member attribute.
	PrimaryGroup string
}

// Attr returns the first value of a (case-insensitive) attribute, or "".
func (e *Entry) Attr(name string) string {
	if v := e.Attributes[strings.ToLower(name)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Page is one unit of work handed to the consumer: a batch of entries and
// deletions, and the cursor that is valid once the page has been applied.
//
// The consumer commits the cursor in the same store transaction as
// everything the page produced, so a crash can neither lose a change nor
// apply it twice.
type Page struct {
	Entries []Entry
	Deleted []string // IDs of entries deleted in the directory (tombstones)
	// Cursor is the opaque position after this page. During a full read it is
	// nil on every page but the last; the final cursor is returned by FullRead.
	Cursor []byte
	// More is set by Watch when more pages of the same change round follow
	// at once (one poll or DirSync round that spans several pages): the
	// consumer plans the whole round as one batch, so the mass-change guard
	// sees it whole instead of admitting its last, smaller page.
	More bool
}

// Handler consumes one page. Returning an error stops the read; the source
// returns that error unchanged.
type Handler func(ctx context.Context, p Page) error

// Source is a directory that dirbridge reads and follows.
//
// Lifecycle: the agent calls FullRead at first start, on a schedule, and
// whenever Watch returns ErrFullReadRequired; then Watch with the cursor it
// got. Calls are not concurrent. Sources do not retry forever: they return
// network errors to the agent, which backs off and calls again with the last
// committed cursor.
type Source interface {
	// FullRead streams every in-scope person and every group, page by page.
	// It returns the cursor from which Watch continues. A full read is
	// complete only when FullRead returns nil; a read that ended early must
	// never be taken as complete (people missing from it are not deleted).
	FullRead(ctx context.Context, h Handler) (cursor []byte, err error)

	// Watch delivers changes after cursor until ctx is canceled. Each page
	// carries the cursor to commit with it. It returns ErrFullReadRequired
	// when the cursor can no longer be used (another DC, a cursor older than
	// the tombstone lifetime, a file replaced).
	Watch(ctx context.Context, cursor []byte, h Handler) error

	// Describe says, for logs and `dirbridge check`, how changes are followed.
	Describe() string

	Close() error
}

// Lookuper is an optional capability of a Source: read one person live, by
// an attribute value (escaped by the source), for `dirbridge preview`. It
// returns ErrNotFound when nobody matches.
type Lookuper interface {
	Lookup(ctx context.Context, attr, value string) (*Entry, error)
}
