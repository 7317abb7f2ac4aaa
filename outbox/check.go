package outbox

import (
	"bytes"
	"fmt"
)

// CheckInvariants verifies the store's internal consistency: counters match
// the requests, every open request sits in its person's queue exactly once,
// only queue heads are available for hand-out, in-flight markers match
// Provisioning requests, and every request is in its person's history. It
// is what the crash tests assert after every SIGKILL, and what `dirbridge
// check` runs on a state file.
func (tx *Tx) CheckInvariants() error {
	counts := map[string]int{}
	open := map[uint64]Request{}
	err := tx.btx.Bucket(bRequests).ForEach(func(k, v []byte) error {
		r, err := decodeRequest(v)
		if err != nil {
			return fmt.Errorf("request %d: %w", getU64(k), err)
		}
		counts[r.App+"\x00"+string(r.State)]++
		if !r.State.Terminal() {
			open[r.ID] = r
		}
		if tx.btx.Bucket(bHistory).Get(append(prefix(r.App, r.PersonID), u64(r.ID)...)) == nil {
			return fmt.Errorf("request %d missing from the history of %s/%s", r.ID, r.App, r.PersonID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := tx.checkCounts(counts); err != nil {
		return err
	}
	heads, err := tx.checkQueues(open)
	if err != nil {
		return err
	}
	return tx.checkReady(heads)
}

func (tx *Tx) checkCounts(want map[string]int) error {
	got := map[string]int{}
	_ = tx.btx.Bucket(bCounts).ForEach(func(k, v []byte) error { got[string(k)] = int(getU64(v)); return nil })
	for k, n := range want {
		if got[k] != n {
			return fmt.Errorf("counter %q = %d, requests say %d", k, got[k], n)
		}
	}
	for k, n := range got {
		if want[k] != n {
			return fmt.Errorf("counter %q = %d, requests say %d", k, n, want[k])
		}
	}
	return nil
}

// checkQueues returns the head request of every person's queue.
func (tx *Tx) checkQueues(open map[uint64]Request) (map[uint64]bool, error) {
	seen := map[uint64]bool{}
	heads := map[uint64]bool{}
	err := tx.States("", func(st AppState) error {
		for i, id := range st.Pending {
			r, ok := open[id]
			if !ok || seen[id] || r.App != st.App || r.PersonID != st.PersonID {
				return fmt.Errorf("%s/%s: pending request %d is not an open request of that person (or listed twice)", st.App, st.PersonID, id)
			}
			seen[id] = true
			if i == 0 {
				heads[id] = true
			}
		}
		if st.Inflight != 0 && (len(st.Pending) == 0 || st.Pending[0] != st.Inflight) {
			return fmt.Errorf("%s/%s: in-flight request %d is not the head of the queue", st.App, st.PersonID, st.Inflight)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for id := range open {
		if !seen[id] {
			return nil, fmt.Errorf("open request %d is in no queue", id)
		}
		inflight := tx.btx.Bucket(bInflight).Get(u64(id)) != nil
		if inflight != (open[id].State == StateProvisioning) {
			return nil, fmt.Errorf("request %d is %s but in-flight marker = %v", id, open[id].State, inflight)
		}
	}
	return heads, nil
}

func (tx *Tx) checkReady(heads map[uint64]bool) error {
	for id := range heads {
		r, err := tx.Request(id)
		if err != nil {
			return err
		}
		if r.State.handOut() && !tx.parked(&r) && tx.btx.Bucket(bReady).Get(readyKey(&r)) == nil {
			return fmt.Errorf("request %d (%s) heads its queue but is not available for hand-out: it would be stuck", id, r.State)
		}
	}
	return tx.btx.Bucket(bReady).ForEach(func(k, v []byte) error {
		id := getU64(k[len(k)-8:])
		r, err := tx.Request(id)
		if err != nil {
			return fmt.Errorf("ready entry for missing request %d", id)
		}
		if !heads[id] || !r.State.handOut() || tx.parked(&r) || !bytes.Equal(readyKey(&r), k) {
			return fmt.Errorf("ready entry for request %d (%s) that may not be handed out", id, r.State)
		}
		return nil
	})
}
