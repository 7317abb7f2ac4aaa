package mapping

import (
	"testing"
)

const okIdentity = "identity:\n  userName: mail\n"

// yamlCases are single mistakes with the exact error they give: positions
// inside quoted, block and flow values, and YAML features the loader refuses.
var yamlCases = []struct{ src, want string }{
	{okIdentity + "apps:\n  a:\n    assign: []\n",
		`m.yaml:5:5: apps.a.assign must be a list of at least one rule, e.g. - group: "CN=..."`},
	{okIdentity + "apps:\n  a:\n    assign: {group: x}\n",
		`m.yaml:5:5: apps.a.assign must be a list of at least one rule, e.g. - group: "CN=..."`},
	{okIdentity + "apps: [a, b]\n",
		`m.yaml:3:7: apps must be a mapping of keys to values, not a list`},
	{okIdentity + "scope:\n  users: {base: \"OU=x,DC=y\", filtr: \"(a=b)\"}\n",
		`m.yaml:4:30: unknown key "filtr" in scope.users (did you mean "filter"?)`},
	{"identity:\n  userName: 'lower(mail) +'\n",
		`m.yaml:2:26: identity.userName: unexpected token EOF in "lower(mail) +"`},
	{"identity:\n  userName: \"lower(mial)\"\n",
		`m.yaml:2:20: unknown directory attribute "mial" (did you mean "mail"?); declare a custom attribute under directoryAttributes`},
	{"identity:\n  userName: |\n    lower(mail)\n      + upper(snn)\n",
		`m.yaml:4:15: unknown directory attribute "snn" (did you mean "sn"?); declare a custom attribute under directoryAttributes`},
	{"identity:\n  userName: &u mail\n  email: *u\n",
		`m.yaml:3:10: YAML aliases (*u) are not supported in mapping files: repeat the value`},
	{"identity:\n  userName: !!str mail\n",
		`m.yaml:2:13: YAML tags (!!str) are not supported in mapping files`},
	{okIdentity + "---\napps: {}\n",
		`m.yaml:3:1: a mapping file holds one YAML document; split it into several files`},
	{okIdentity + "apps:\n  a:\n    assign:\n      - group: \"CN=A,DC=x\"\n        permissionSets: {a: b}\n",
		`m.yaml:7:25: apps.a.assign[0].permissionSets must be a single value, not a mapping`},
	{okIdentity + "apps:\n  a:\n    assign:\n      - group: \"not a DN\"\n",
		`m.yaml:6:17: apps.a.assign[0].group: "not a DN" is not a valid group DN`},
	{okIdentity + "apps:\n  a:\n    assign:\n      - when: memberOf(\"CN=A,DC=x\", \"CN=B,DC=x\")\n",
		`m.yaml:6:15: memberOf takes one argument, e.g. memberOf("CN=Sales,OU=Groups,DC=corp,DC=example")`},
	{okIdentity + "apps:\n  a:\n    assign:\n      - when: inOU(dn)\n",
		`m.yaml:6:20: inOU needs a literal in quotes, e.g. inOU("OU=Sales,DC=corp,DC=example")`},
	{okIdentity + "apps:\n  a:\n    assign:\n      - when: identity\n",
		`m.yaml:6:15: identity needs a field, e.g. identity.userName`},
	{okIdentity + "apps:\n  a:\n    assign:\n      - when: lower\n",
		`m.yaml:6:15: lower is a function: call it as lower(...)`},
	{okIdentity + "apps:\n  a:\n    assign:\n      - when: _attr($env, \"mail\") == \"\"\n",
		`m.yaml:6:15: unknown function "_attr" (did you mean "attr"?)`},
	{okIdentity + "apps:\n  a:\n    assign:\n      - when: mail\n",
		`m.yaml:6:15: apps.a.assign[0].when must give true or false (a condition), but "mail" gives text`},
	{okIdentity + "apps:\n  a:\n    assign:\n      - when: \"true\"\n    attributes:\n      x: {}\n",
		`m.yaml:8:10: apps.a.attributes.x must be a single value, not a mapping`},
	{okIdentity + "apps:\n  a:\n    assign:\n      - when: \"true\"\n    attributes:\n      x:\n",
		`m.yaml:8:7: apps.a.attributes.x needs a value`},
	{okIdentity + "directoryAttributes: [\"bad name\"]\n",
		`m.yaml:3:23: invalid attribute name "bad name"`},
	{okIdentity + "scope:\n  users:\n    filter: \"(&(objectClass=user)(departmnt=Sales))\"\n",
		`m.yaml:5:35: scope.users.filter: unknown directory attribute "departmnt" (did you mean "department"?)`},
	{okIdentity + "scope:\n  users:\n    base: \"OU=x,,DC=y\"\n",
		`m.yaml:5:12: scope.users.base: "OU=x,,DC=y" is not a valid DN`},
	{"identity:\n  userName: mail\n  frozen: 'now() >= \"2026\"'\n",
		`m.yaml:3:21: identity.frozen: cannot use string as argument (type time) to call now() comparison in "now() >= \"2026\""`},
	{"identity:\n  userName: join(mail, \",\")\n",
		`m.yaml:2:18: identity.userName: cannot use string as argument (type list) to call join in "join(mail, \",\")"`},
	{"identity:\n  userName: mail\n  frozen: any(values(proxyAddresses), # == \"x\") # comment\n",
		`m.yaml:3:37: identity.frozen: unexpected token EOF in "any(values(proxyAddresses)," (YAML ended the value at " #", which starts a comment: put the expression in single quotes)`},
	{"identity:\n  userName: mail\n  frozen: mail matches department\n",
		`m.yaml:3:24: matches needs its pattern as a literal in quotes`},
	{okIdentity + "apps:\n  a:\n    assign:\n      - \"CN=A,DC=x\"\n",
		`m.yaml:6:9: apps.a.assign[0] must be a mapping of keys to values, not the value "CN=A,DC=x"`},
	{okIdentity + "apps:\n  a:\n    assign:\n      -\n",
		`m.yaml:6:7: apps.a.assign[0] is empty: give a condition (when, group, nestedGroup or ou)`},
}

func TestYAMLMistakes(t *testing.T) {
	for _, c := range yamlCases {
		_, err := Parse("m.yaml", []byte(c.src), AnyGroup{})
		if err == nil || err.Error() != c.want {
			t.Errorf("source:\n%s\n got: %v\nwant: %s", c.src, err, c.want)
		}
	}
}
