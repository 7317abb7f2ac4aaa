package agent

import (
	"context"

	"github.com/dirbridge/dirbridge/outbox"
)

// Version is set by cmd/dirbridge at build time.
var Version = "dev"

// Status is the agent's report on itself, served as /api/v1/status.
type Status struct {
	Version string               `json:"version"`
	Healthy bool                 `json:"healthy"`
	Sync    SyncStatus           `json:"sync"`
	Mapping MappingStatus        `json:"mapping"`
	Apps    map[string]AppStatus `json:"apps"`
}

// AppStatus is one app's part of the status.
type AppStatus struct {
	AppHealth
	Requests map[outbox.State]int `json:"requests"`
	Held     int                  `json:"heldForApproval"`
}

// Status assembles the status.
func (a *Agent) Status(context.Context) (Status, error) {
	s := Status{Version: Version, Sync: a.status.get(), Mapping: a.maps.Status(), Apps: map[string]AppStatus{}}
	err := a.store.View(func(tx *outbox.Tx) error {
		for name, r := range a.apps {
			counts := tx.Counts(name)
			s.Apps[name] = AppStatus{AppHealth: r.health(), Requests: counts, Held: counts[outbox.StateAwaitingApproval]}
		}
		return nil
	})
	s.Healthy = s.Sync.LastError == "" && s.Sync.FullReadError == "" && s.Mapping.Error == ""
	return s, err
}
