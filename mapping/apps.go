package mapping

import (
	"fmt"
	"sort"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// compiledApp is one app of the mapping.
type compiledApp struct {
	name     string
	rules    []compiledRule
	userName *program // nil: identity.userName
	active   *program // nil: identity.active
	frozen   *program // nil: identity.frozen
	attrs    []compiledAttr
	updateOn []string
}

type compiledAttr struct {
	path string
	prog *program
}

// compiledRule is one assign rule; every condition it has must hold.
type compiledRule struct {
	desc           string
	groupID        string // "" when the rule has no group condition
	nested         bool
	ou             string // normalized; "" when none
	when           *program
	profile        string
	permissionSets []string
	groups         []string
}

var appKeys = []string{"assign", "userName", "active", "frozen", "attributes", "onUpdate"}

func (c *compiler) appSections(files []*parsedFile) []*compiledApp {
	var apps []*compiledApp
	seen := map[string]pos{}
	for _, f := range files {
		fl, ok := f.fields["apps"]
		if !ok {
			continue
		}
		for _, af := range f.d.fields(fl.value, "apps", nil) {
			if p, dup := seen[af.key]; dup {
				f.d.errorf(af.keyAt, "app %q is already defined at %s:%d:%d", af.key, p.file, p.line, p.col)
				continue
			}
			seen[af.key] = f.d.posOf(af.keyAt)
			if a := c.appSection(f.d, af); a != nil {
				apps = append(apps, a)
			}
		}
	}
	sort.Slice(apps, func(i, j int) bool { return apps[i].name < apps[j].name })
	return apps
}

func (c *compiler) appSection(d *decoder, f field) *compiledApp {
	if !validAppName(f.key) {
		d.errorf(f.keyAt, "app name %s may hold only letters, digits, - and _", quoteShort(f.key))
		return nil
	}
	a := &compiledApp{name: f.key}
	prefix := "apps." + f.key + "."
	var hasAssign bool
	var onUpdate *field
	for _, k := range d.fields(f.value, "app "+f.key, appKeys) {
		switch k.key {
		case "assign":
			hasAssign = true
			a.rules = c.rules(d, k, a.name)
		case "attributes":
			a.attrs = c.attributes(d, k, a.name)
		case "onUpdate":
			onUpdate = &k
		default:
			a.setOverride(c, d, k, prefix)
		}
	}
	if !hasAssign {
		d.errorf(f.keyAt, "app %q needs assign rules: who gets it", f.key)
	}
	if onUpdate != nil {
		a.updateOn = c.onUpdate(d, *onUpdate, a)
	}
	return a
}

func (a *compiledApp) setOverride(c *compiler, d *decoder, k field, prefix string) {
	t, ok := d.scalar(k.value, k.keyAt, prefix+k.key)
	if !ok {
		return
	}
	ctx := exprCtx{what: prefix + k.key, app: a.name, attr: k.key, visible: len(identityFields)}
	switch k.key {
	case "userName":
		a.userName = c.compile(t, ctx, kindString)
	case "active":
		a.active = c.compile(t, ctx, kindBool)
	case "frozen":
		a.frozen = c.compile(t, ctx, kindBool)
	}
}

func validAppName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r == '_' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')) {
			return false
		}
	}
	return true
}

func (c *compiler) attributes(d *decoder, f field, app string) []compiledAttr {
	var out []compiledAttr
	for _, k := range d.fields(f.value, "apps."+app+".attributes", nil) {
		what := "apps." + app + ".attributes." + k.key
		if strings.TrimSpace(k.key) == "" {
			d.errorf(k.keyAt, "an attribute path cannot be empty")
			continue
		}
		t, ok := d.scalar(k.value, k.keyAt, what)
		if !ok {
			continue
		}
		ctx := exprCtx{what: what, app: app, attr: k.key, visible: len(identityFields)}
		if p := c.compile(t, ctx, kindValue); p != nil {
			out = append(out, compiledAttr{path: k.key, prog: p})
		}
	}
	return out
}

func (c *compiler) onUpdate(d *decoder, f field, a *compiledApp) []string {
	var out []string
	for _, t := range d.list(f.value, f.keyAt, "apps."+a.name+".onUpdate") {
		if !a.hasAttr(t.value) {
			c.errorAt(t, 0, "apps.%s.onUpdate: %s is not one of the app's attributes", a.name, quoteShort(t.value))
			continue
		}
		out = append(out, t.value)
	}
	return out
}

func (a *compiledApp) hasAttr(path string) bool {
	for _, at := range a.attrs {
		if at.path == path {
			return true
		}
	}
	return false
}

// entryAt returns the "- " of a block sequence's i-th item, where an empty
// item is best reported.
func entryAt(seq ast.Node, i int, item ast.Node) ast.Node {
	if s, ok := seq.(*ast.SequenceNode); ok && i < len(s.Entries) && s.Entries[i] != nil {
		return s.Entries[i]
	}
	return item
}

var ruleKeys = []string{"when", "group", "nestedGroup", "ou", "profile", "permissionSets", "groups"}

func (c *compiler) rules(d *decoder, f field, app string) []compiledRule {
	seq := d.unwrap(f.value)
	items := listItems(seq)
	if len(items) == 0 {
		d.errorf(f.keyAt, "apps.%s.assign must be a list of at least one rule, e.g. - group: \"CN=...\"", app)
		return nil
	}
	var out []compiledRule
	for i, item := range items {
		what := fmt.Sprintf("apps.%s.assign[%d]", app, i)
		item = d.unwrap(item)
		if _, null := item.(*ast.NullNode); null && item != reported {
			d.errorf(entryAt(seq, i, item), "%s is empty: give a condition (when, group, nestedGroup or ou)", what)
			continue
		}
		r, ok := c.rule(d, item, what, app)
		if ok {
			p := d.posOf(item)
			r.desc = fmt.Sprintf("assign[%d] (%s:%d): %s", i, p.file, p.line, r.desc)
			out = append(out, r)
		}
	}
	return out
}
