package outbox

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// SchemaVersion is the layout this code writes. Bump it with a migration in
// migrations whenever the layout changes.
const SchemaVersion = 2

// Buckets. Few large buckets, big-endian sequence keys (bbolt README).
var (
	bMeta     = []byte("meta")     // "schema" -> u32, "created" -> RFC 3339, "generation" -> u64
	bRequests = []byte("requests") // id -> Request (JSON)
	bStates   = []byte("states")   // app \0 person -> AppState (JSON)
	bReady    = []byte("ready")    // app \0 lane \0 due(8) id(8) -> op: requests that may be handed out
	bInflight = []byte("inflight") // id -> nil: requests in Provisioning
	bHistory  = []byte("history")  // app \0 person \0 id(8) -> nil: every request of a person
	bCounts   = []byte("counts")   // app \0 state -> u64
	bLog      = []byte("log")      // seq(8) -> LogEntry (JSON), append-only
	bCursors  = []byte("cursors")  // source name -> opaque cursor
	bPeople   = []byte("people")   // person id -> Snapshot (JSON)
	bGroups   = []byte("groups")   // group id -> GroupInfo (JSON)
	bDNs      = []byte("dns")      // normalized DN -> id (people and groups)
	bMembers  = []byte("members")  // group \0 member -> nil
	bMemberOf = []byte("memberof") // member \0 group -> nil
	bTimers   = []byte("timers")   // due(8) person -> nil
	bTimerOf  = []byte("timerof")  // person -> due(8)
	bExtIDs   = []byte("extids")   // app \0 external id -> person
	bStaged   = []byte("staged")   // group \0 member -> nil: memberships seen by the running full read
	bDirty    = []byte("dirty")    // person -> nil: people the running full read must plan at its end
	bTaken    = []byte("taken")    // app \0 attribute \0 lower(value) -> person: values held, for unique()
	bHolds    = []byte("holds")    // person -> JSON list of the taken keys they hold
	// Added in schema 2: the guard decides per batch and remembers.
	bBatches   = []byte("batches")   // batch id(8) -> Batch (JSON)
	bBatchReqs = []byte("batchreqs") // batch(8) app \0 id(8) -> nil: requests not yet settled
	bGuard     = []byte("guard")     // app \0 kind \0 time(8) batch(8) -> u64: what the guard admitted
	bActive    = []byte("active")    // app -> u64: accounts confirmed active
)

var allBuckets = [][]byte{bMeta, bRequests, bStates, bReady, bInflight, bHistory, bCounts, bLog,
	bCursors, bPeople, bGroups, bDNs, bMembers, bMemberOf, bTimers, bTimerOf, bExtIDs, bStaged, bDirty, bTaken, bHolds,
	bBatches, bBatchReqs, bGuard, bActive}

// migrations[v] upgrades a file from schema v to v+1. Version 0 is an empty
// file. Each runs in the same transaction that records the new version, so
// an interrupted upgrade leaves the old version intact.
var migrations = map[int]func(btx *bolt.Tx) error{
	0: func(btx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := btx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	},
	// 1 -> 2: batches, the guard's window and the active-account counts,
	// counted once from the records.
	1: func(btx *bolt.Tx) error {
		for _, b := range [][]byte{bBatches, bBatchReqs, bGuard, bActive} {
			if _, err := btx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		_, err := (&Tx{btx: btx}).RecountActive()
		return err
	},
}

// migrate brings the file to SchemaVersion, or refuses a newer one.
func migrate(btx *bolt.Tx, now time.Time) error {
	v := 0
	if meta := btx.Bucket(bMeta); meta != nil {
		if raw := meta.Get([]byte("schema")); len(raw) == 4 {
			v = int(binary.BigEndian.Uint32(raw))
		}
	}
	if v > SchemaVersion {
		return fmt.Errorf("%w: the file has schema version %d, this dirbridge understands up to %d; "+
			"upgrade dirbridge or restore a state file from this version", ErrSchemaTooNew, v, SchemaVersion)
	}
	for ; v < SchemaVersion; v++ {
		m, ok := migrations[v]
		if !ok {
			return fmt.Errorf("outbox: no migration from schema version %d", v)
		}
		if err := m(btx); err != nil {
			return fmt.Errorf("outbox: migrate schema %d -> %d: %w", v, v+1, err)
		}
	}
	meta := btx.Bucket(bMeta)
	if meta.Get([]byte("created")) == nil {
		if err := meta.Put([]byte("created"), []byte(now.UTC().Format(time.RFC3339))); err != nil {
			return err
		}
	}
	return meta.Put([]byte("schema"), u32(SchemaVersion))
}

func u32(v uint32) []byte { b := make([]byte, 4); binary.BigEndian.PutUint32(b, v); return b }
func u64(v uint64) []byte { b := make([]byte, 8); binary.BigEndian.PutUint64(b, v); return b }

func getU64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// timeKey orders times; before 1970 counts as 0.
func timeKey(t time.Time) []byte {
	n := t.UnixNano()
	if n < 0 {
		n = 0
	}
	return u64(uint64(n))
}

// join builds a composite key; names must not contain NUL (checkName).
func join(parts ...string) []byte { return []byte(strings.Join(parts, "\x00")) }

// prefix is join(parts...) followed by the separator, for prefix scans.
func prefix(parts ...string) []byte { return append(join(parts...), 0) }

func checkName(kind, s string) error {
	if s == "" || strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%w: %s %q is empty or contains NUL", ErrInvalid, kind, s)
	}
	return nil
}
