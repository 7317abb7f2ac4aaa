package agent

import (
	"context"
	"os"
	"path/filepath"
	"regexp"

	"github.com/dirbridge/dirbridge/outbox"
)

// Before dirbridge kept a dry run's state apart (DryRunDir), `run --dry-run`
// wrote into the real state file: every Create was recorded as Completed
// with an id the mock target made up, and the real run that followed sent
// nothing. Such residue is recognized by the mock's files beside the state
// file (dryrun-<app>.db) and by mock ids on accounts of apps that are not
// the mock; it is repaired at start: the made-up accounts are forgotten and
// everyone is re-planned, so the real apps get what the dry run only
// recorded.

// mockID is the mock target's external id format (connectors/mock).
var mockID = regexp.MustCompile(`^M[0-9]{15}$`)

// repairDryRunResidue forgets accounts an old dry run made up in the real
// state and re-plans everyone.
func (a *Agent) repairDryRunResidue() error {
	dir := filepath.Dir(a.store.Path())
	var apps []string
	for _, name := range a.cfg.AppNames() {
		if a.cfg.Apps[name].Connector == "mock" {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "dryrun-"+name+".db")); err == nil {
			apps = append(apps, name)
		}
	}
	if len(apps) == 0 {
		return nil
	}
	forgotten := 0
	err := a.store.Update(context.Background(), func(tx *outbox.Tx) error {
		forgotten = 0
		for _, app := range apps {
			n, err := tx.ForgetAccounts(app, func(st outbox.AppState) bool {
				return len(st.Pending) == 0 && mockID.MatchString(st.Account.ExternalID)
			})
			if err != nil {
				return err
			}
			forgotten += n
		}
		if forgotten > 0 {
			return putJSON(tx, appliedKey, nil) // re-plan everyone
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, app := range apps {
		old := filepath.Join(dir, "dryrun-"+app+".db")
		if err := os.Rename(old, old+".repaired"); err != nil {
			return err
		}
	}
	a.log.Warn().Strs("apps", apps).Int("accounts", forgotten).
		Msg("an earlier dry run had recorded accounts in the real state file; they are forgotten and everyone is re-planned")
	return nil
}
