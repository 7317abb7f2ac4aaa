package statusapi

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"

	"github.com/dirbridge/dirbridge/agent"
	"github.com/dirbridge/dirbridge/outbox"
)

// The helpdesk page: is sync healthy, what is held or failing, and what
// happened to one person. Read-only; actions go through the token-protected
// API or the CLI.
var pageTmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"count": func(m map[outbox.State]int, s string) int { return m[outbox.State(s)] },
	"rows": func(reqs []outbox.Request, names map[string]string) map[string]any {
		return map[string]any{"Reqs": reqs, "Names": names}
	},
	"t": func(v any) string {
		if tm, ok := v.(interface{ IsZero() bool }); ok && tm.IsZero() {
			return "never"
		}
		if tm, ok := v.(interface{ Format(string) string }); ok {
			return tm.Format("2006-01-02 15:04:05 MST")
		}
		return ""
	},
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>dirbridge status</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.35em .5em;text-align:left;vertical-align:top}
th{background:#f4f4f4}.ok{color:#176b2c;font-weight:600}.bad{color:#a4161a;font-weight:600}.muted{color:#666}
code{font-size:.9em}form{margin:1em 0}input{font-size:1em;padding:.3em;width:22em}
</style></head><body>
<h1>dirbridge {{.S.Version}} — {{if .S.Healthy}}<span class="ok">sync healthy</span>{{else}}<span class="bad">needs attention</span>{{end}}</h1>
<p>Directory: {{with .S.Sync}}{{if .Source}}{{.Source}}{{else}}reading{{end}}.
Last full read: {{t .FullReadEnded}} ({{.FullReadPeople}} people).
Last change seen: {{t .LastChange}}.
{{if .LastError}}<br><span class="bad">Directory error: {{.LastError}}</span>{{end}}
{{if .FullReadError}}<br><span class="bad">Full read error: {{.FullReadError}}</span>{{end}}
{{range .EvalErrors}}<br><span class="bad">Mapping failed for {{.DN}}: {{.Error}}</span>{{end}}{{end}}
<br>Mapping: {{range .S.Mapping.Files}}<code>{{.}}</code> {{end}} loaded {{t .S.Mapping.LoadedAt}}
{{if .S.Mapping.Error}}<br><span class="bad">Mapping rejected (the last good one keeps running):</span><pre>{{.S.Mapping.Error}}</pre>{{end}}</p>

<h2>Apps</h2>
<table><tr><th>App</th><th>Connector</th><th>Delivery</th><th>Queued</th><th>Retrying</th><th>Held</th><th>Failed</th><th>Completed</th></tr>
{{range .Apps}}<tr><td>{{.Name}}</td><td>{{.A.Connector}}</td>
<td>{{if .A.Paused}}<span class="bad">paused: {{.A.PauseReason}} until {{t .A.PausedUntil}}</span>{{else}}<span class="ok">running</span>{{end}}{{if .A.CreatesHeld}}<br><span class="bad">Creates paused: out of licences</span>{{end}}</td>
<td>{{count .A.Requests "New"}}</td><td>{{count .A.Requests "Retrying"}}</td><td>{{.A.Held}}</td><td>{{count .A.Requests "Failed"}}</td><td>{{count .A.Requests "Completed"}}</td></tr>{{end}}
</table>

<h2>Find a person</h2>
<form method="get" action="/"><input name="person" value="{{.Who}}" placeholder="login, DN or id"> <button>Look up</button></form>
{{if .PersonErr}}<p class="bad">{{.PersonErr}}</p>{{end}}
{{with .Person}}<p><b>{{.Person.DN}}</b> <span class="muted">{{.Person.ID}}{{if .Person.Deleted}} — deleted in the directory{{end}}</span></p>
<table><tr><th>App</th><th>Account</th><th>Should be</th><th>App confirmed</th><th>Open requests</th></tr>
{{range $app, $st := .Apps}}<tr><td>{{$app}}</td><td>{{$st.Account.ExternalID}} {{$st.Account.UserName}} {{$st.Account.Status}}</td>
<td>{{with $st.Desired}}{{if .Active}}active{{else}}inactive{{end}}{{if .Frozen}}, frozen{{end}}{{else}}no account{{end}}</td>
<td>{{with $st.Confirmed}}{{if .Active}}active{{else}}inactive{{end}}{{if .Frozen}}, frozen{{end}}{{else}}none{{end}}</td><td>{{len $st.Pending}}</td></tr>{{end}}</table>
<h2>Requests for this person</h2>{{template "reqs" (rows .Requests $.Names)}}{{end}}

<h2>Held for approval</h2>
{{range .HeldBatches}}<p><b>{{.App}}</b>: {{.Summary}} held. Decide the whole batch with
<code>dirbridge requests held approve --app {{.App}}</code> (or <code>deny</code>), as an approver.</p>{{end}}
{{template "reqs" (rows .Held .Names)}}
<h2>Failed (waiting for an operator)</h2>{{template "reqs" (rows .Failed .Names)}}
<p class="muted">JSON: <a href="/api/v1/status">/api/v1/status</a>, <a href="/api/v1/requests">/api/v1/requests</a>. Retry, approve, deny and cancel with <code>dirbridge requests ...</code> or the token-protected API.</p>
</body></html>
{{define "reqs"}}{{if .Reqs}}<table><tr><th>#</th><th>App</th><th>Person</th><th>Operation</th><th>State</th><th>Why</th><th>Last error</th><th>Updated</th></tr>
{{range .Reqs}}<tr><td><a href="/api/v1/requests/{{.ID}}">{{.ID}}</a></td><td>{{.App}}</td><td>{{index $.Names .PersonID}}</td><td>{{.Op}}</td><td>{{.State}}{{if .HeldBecause}}<br><span class="muted">{{.HeldBecause}}</span>{{end}}</td><td>{{.Reason}}</td><td>{{.LastError}}</td><td>{{t .Updated}}</td></tr>{{end}}</table>{{else}}<p class="muted">None.</p>{{end}}{{end}}`))

type pageApp struct {
	Name string
	A    agent.AppStatus
}

// pageListLimit is how many held and failed requests the page lists.
const pageListLimit = 50

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	st, err := s.b.Status(ctx)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	data := map[string]any{"S": st, "Who": r.URL.Query().Get("person"), "Apps": pageApps(st)}
	// One scan of the held requests gives both each app's batch summary and
	// the newest 50 listed.
	held, _ := s.b.Requests(ctx, outbox.Filter{States: []outbox.State{outbox.StateAwaitingApproval}})
	failed, _ := s.b.Requests(ctx, outbox.Filter{States: []outbox.State{outbox.StateFailed}, Limit: pageListLimit})
	data["HeldBatches"] = heldBatches(held)
	data["Held"], data["Failed"] = held[:min(len(held), pageListLimit)], failed
	var shown []outbox.Request
	if who := r.URL.Query().Get("person"); who != "" {
		if v, err := s.b.Person(ctx, who); err != nil {
			data["PersonErr"] = err.Error()
		} else {
			data["Person"] = v
			shown = v.Requests
		}
	}
	shown = append(append(shown, held[:min(len(held), pageListLimit)]...), failed...)
	data["Names"] = s.displayNames(ctx, shown)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.Header().Set("X-Frame-Options", "DENY")
	if err := pageTmpl.Execute(w, data); err != nil {
		s.log.Error().Err(err).Msg("status page")
	}
}

func pageApps(st agent.Status) []pageApp {
	var apps []pageApp
	for name, a := range st.Apps {
		apps = append(apps, pageApp{name, a})
	}
	sort.Slice(apps, func(i, j int) bool { return apps[i].Name < apps[j].Name })
	return apps
}

// displayNames gives helpdesk staff a name instead of an objectGUID: the
// person's DN as the directory last showed it.
func (s *Server) displayNames(ctx context.Context, reqs []outbox.Request) map[string]string {
	ids := make([]string, 0, len(reqs))
	for _, r := range reqs {
		ids = append(ids, r.PersonID)
	}
	names, err := s.b.DisplayNames(ctx, ids)
	if err != nil {
		s.log.Warn().Err(err).Msg("status page: display names")
	}
	return names
}

// heldBatch summarizes what the guard holds in one app ("30 Deactivate, 2 Create").
type heldBatch struct {
	App     string
	Summary string
}

func heldBatches(reqs []outbox.Request) []heldBatch {
	counts := map[string]map[string]int{}
	for _, r := range reqs {
		if counts[r.App] == nil {
			counts[r.App] = map[string]int{}
		}
		counts[r.App][string(r.Op)]++
	}
	var out []heldBatch
	for app, ops := range counts {
		var parts []string
		for op, n := range ops {
			parts = append(parts, fmt.Sprintf("%d %s", n, op))
		}
		sort.Strings(parts)
		out = append(out, heldBatch{App: app, Summary: strings.Join(parts, ", ")})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].App < out[j].App })
	return out
}
