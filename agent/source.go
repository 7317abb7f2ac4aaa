package agent

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/dirbridge/dirbridge/directory"
	"github.com/dirbridge/dirbridge/outbox"
)

// The directory attributes the store holds for everyone: a mapping may only
// plan with attributes a complete full read fetched and every read since
// kept up to date. A mapping that reads one more attribute widens the
// source's attribute list and waits for a full read (a reloaded mapping that
// read an attribute the source never fetched used to see it as empty).
const attrsKey = "directory.attributes"

func coveredAttributes(tx *outbox.Tx) []string {
	var attrs []string
	_ = json.Unmarshal(orNull(tx.Cursor(attrsKey)), &attrs)
	return attrs
}

// missing lists what of want is not in have (both lower-cased, sorted).
func missing(want, have []string) []string {
	var out []string
	for _, w := range want {
		if _, found := slices.BinarySearch(have, w); !found {
			out = append(out, w)
		}
	}
	return out
}

func union(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

// missingAttributes lists the attributes of want the store does not hold.
func (a *Agent) missingAttributes(want []string) []string {
	var have []string
	_ = a.store.View(func(tx *outbox.Tx) error { have = coveredAttributes(tx); return nil })
	return missing(want, have)
}

// src returns the directory source (it is reopened when its attribute list
// must grow).
func (a *Agent) src() directory.Source {
	a.srcMu.Lock()
	defer a.srcMu.Unlock()
	return a.source
}

// wanted is the attribute list the source must read.
func (a *Agent) wanted() []string {
	a.srcMu.Lock()
	defer a.srcMu.Unlock()
	return a.want
}

// widenSource asks for attrs to be read too: the sync loop stops watching,
// reopens the source if its list lacks them, and runs a full read.
func (a *Agent) widenSource(attrs []string) {
	a.srcMu.Lock()
	grown := len(missing(attrs, a.want)) > 0
	a.want = union(a.want, attrs)
	a.srcMu.Unlock()
	if grown {
		select {
		case a.widened <- struct{}{}:
		default:
		}
	}
}

// openSource opens the directory source with the wanted attributes.
func (a *Agent) openSource() error {
	a.srcMu.Lock()
	defer a.srcMu.Unlock()
	src, err := directory.New(a.cfg.Directory.Type, directory.Env{
		Logger:     a.log.With().Str("component", "directory").Logger(),
		Decode:     a.cfg.Directory.Settings.Decode,
		BaseDir:    filepath.Dir(a.cfg.File),
		Attributes: a.want,
	})
	if err != nil {
		return fmt.Errorf("directory: %w", err)
	}
	if a.source != nil {
		_ = a.source.Close()
	}
	a.source, a.srcAttrs = src, a.want
	return nil
}

// reopenSourceIfNarrow reopens the source when the wanted attributes grew.
func (a *Agent) reopenSourceIfNarrow() error {
	a.srcMu.Lock()
	narrow := len(missing(a.want, a.srcAttrs)) > 0
	a.srcMu.Unlock()
	if !narrow {
		return nil
	}
	a.log.Info().Strs("attributes", a.wanted()).Msg("reading more directory attributes for the mapping; a full read follows")
	return a.openSource()
}
