package outbox

import (
	json "github.com/goccy/go-json"
	"slices"
	"strings"
)

// The taken index answers the mapping's unique(): which person holds a
// value of an attribute in an app ("" for identity values such as
// userName), so a new person gets the first candidate nobody else holds.
// Values compare case-insensitively, as login names do in most apps.

// Holding is one value a person holds.
type Holding struct {
	App, Attribute, Value string
}

func takenKey(h Holding) []byte {
	return join(h.App, h.Attribute, strings.ToLower(h.Value))
}

// SetHoldings replaces what person holds. Values held by someone else stay
// theirs (the first holder keeps a value).
func (tx *Tx) SetHoldings(person string, holds []Holding) error {
	keys := make([]string, 0, len(holds))
	for _, h := range holds {
		if h.Value != "" && !strings.ContainsRune(h.App+h.Attribute+h.Value, 0) {
			keys = append(keys, string(takenKey(h)))
		}
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	var old []string
	if raw := tx.btx.Bucket(bHolds).Get([]byte(person)); raw != nil {
		if err := json.Unmarshal(raw, &old); err != nil {
			return err
		}
	}
	taken := tx.btx.Bucket(bTaken)
	for _, k := range old {
		if _, kept := slices.BinarySearch(keys, k); !kept && string(taken.Get([]byte(k))) == person {
			if err := taken.Delete([]byte(k)); err != nil {
				return err
			}
		}
	}
	for _, k := range keys { // a value its holder released becomes this person's
		if holder := taken.Get([]byte(k)); holder == nil {
			if err := taken.Put([]byte(k), []byte(person)); err != nil {
				return err
			}
		}
	}
	if slices.Equal(old, keys) {
		return nil
	}
	if len(keys) == 0 {
		return tx.btx.Bucket(bHolds).Delete([]byte(person))
	}
	return tx.putJSON(bHolds, []byte(person), keys)
}

// Taken reports whether someone other than person holds the value.
func (tx *Tx) Taken(app, attribute, value, person string) bool {
	holder := tx.btx.Bucket(bTaken).Get(takenKey(Holding{app, attribute, value}))
	return holder != nil && string(holder) != person
}
