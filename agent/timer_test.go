package agent

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/dirbridge/dirbridge/connectors"
	"github.com/dirbridge/dirbridge/demo"
	"github.com/dirbridge/dirbridge/outbox"
)

// fileTime is an AD FILETIME: 100 ns intervals since 1601-01-01 UTC.
func fileTime(t time.Time) string {
	return strconv.FormatInt((t.Unix()+11644473600)*10_000_000+int64(t.Nanosecond()/100), 10)
}

func TestAccountExpiryDeactivatesOnTimeWithNoDirectoryWrite(t *testing.T) {
	w := startWorld(t)
	w.waitFor("the initial Creates", func(tx *outbox.Tx) bool { return tx.Counts("slack")[outbox.StateCompleted] == 33 })
	alice := demo.People()[0]
	id := personID(t, w.a, alice.Login)
	expires := time.Now().Add(2 * time.Second)
	w.edit(func(e []*ldap.Entry) []*ldap.Entry {
		return setAttr(e, alice.Login, "accountExpires", fileTime(expires))
	})
	w.waitFor("the expiry timer", func(tx *outbox.Tx) bool {
		next, ok := tx.NextTimer()
		return ok && next.Sub(expires).Abs() < time.Second
	})
	_ = w.a.store.View(func(tx *outbox.Tx) error {
		if completed(tx, "slack", id, connectors.OpDeactivate) {
			t.Fatal("deactivated before the account expired")
		}
		return nil
	})
	w.waitFor("the Deactivate at expiry", func(tx *outbox.Tx) bool { return completed(tx, "slack", id, connectors.OpDeactivate) })
	_ = w.a.store.View(func(tx *outbox.Tx) error {
		reqs, _ := tx.ListRequests(outbox.Filter{App: "slack", PersonID: id, Limit: 1})
		if !strings.HasPrefix(reqs[0].Reason, "timer") || reqs[0].Created.Before(expires) {
			t.Errorf("deactivation %q created %v, want a timer-caused one after %v", reqs[0].Reason, reqs[0].Created, expires)
		}
		return nil
	})
}
