package outbox

// A full read does not change memberships or plan anybody while it runs: it
// stages the memberships it sees and marks the people it touched, and only
// when it has ended, and does not look wrong (empty, or far smaller than the
// last), are the staged memberships applied and the marked people planned.
// So a read that returns nobody never turns into deactivations, not even
// through the groups it emptied.

// BeginFullRead starts a full read: a new generation, with the staging of an
// earlier read that never finished thrown away.
func (tx *Tx) BeginFullRead() (uint64, error) {
	if err := tx.resetStaging(); err != nil {
		return 0, err
	}
	return tx.NextGeneration()
}

// StageMembers records members seen on a group during the running full read.
func (tx *Tx) StageMembers(group string, members []string) error {
	b := tx.btx.Bucket(bStaged)
	for _, m := range members {
		if err := checkName("member", m); err != nil {
			return err
		}
		if err := b.Put(join(group, m), nil); err != nil {
			return err
		}
	}
	return nil
}

// StagedMembers returns the members staged for a group.
func (tx *Tx) StagedMembers(group string) []string { return tx.scanSuffixes(bStaged, group) }

// MarkDirty marks people to plan when the running full read ends.
func (tx *Tx) MarkDirty(ids []string) error {
	for _, id := range ids {
		if err := tx.btx.Bucket(bDirty).Put([]byte(id), nil); err != nil {
			return err
		}
	}
	return nil
}

// TakeDirty removes and returns up to max marked people.
func (tx *Tx) TakeDirty(max int) ([]string, error) {
	var out []string
	c := tx.btx.Bucket(bDirty).Cursor()
	for k, _ := c.First(); k != nil && len(out) < max; k, _ = c.Next() {
		out = append(out, string(k))
	}
	for _, id := range out {
		if err := tx.btx.Bucket(bDirty).Delete([]byte(id)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// DiscardStaging drops what a full read staged (a suspicious read).
func (tx *Tx) DiscardStaging() error { return tx.resetStaging() }

func (tx *Tx) resetStaging() error {
	for _, b := range [][]byte{bStaged, bDirty} {
		if err := tx.btx.DeleteBucket(b); err != nil {
			return err
		}
		if _, err := tx.btx.CreateBucket(b); err != nil {
			return err
		}
	}
	return nil
}
