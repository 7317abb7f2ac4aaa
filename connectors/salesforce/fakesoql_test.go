package salesforce

// The fake org's SOQL: the subset the connector writes, parsed for real so
// that a malformed query fails as it would in an org (MALFORMED_QUERY):
// SELECT f, ... FROM Object [WHERE cond [AND cond]...] [LIMIT n], where cond
// is `Field = 'text'`, `Field = true|false` or `Field IN ('a','b')`.
// Text comparisons ignore case, as SOQL's do.

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

var soqlToken = regexp.MustCompile(`\s*('(?:[^'\\]|\\.)*'|[A-Za-z_][A-Za-z0-9_.]*|[0-9]+|[(),=])`)

type soqlCond struct {
	field  string
	values []any // string or bool
}

type soqlQuery struct {
	fields []string
	object string
	where  []soqlCond
	limit  int
}

func tokenize(q string) ([]string, error) {
	var toks []string
	rest := q
	for strings.TrimSpace(rest) != "" {
		m := soqlToken.FindStringSubmatchIndex(rest)
		if m == nil || m[0] != 0 {
			return nil, fmt.Errorf("unexpected token near %q", rest)
		}
		toks = append(toks, rest[m[2]:m[3]])
		rest = rest[m[1]:]
	}
	return toks, nil
}

type soqlParser struct {
	toks []string
	pos  int
}

func (p *soqlParser) next() string {
	if p.pos >= len(p.toks) {
		return ""
	}
	p.pos++
	return p.toks[p.pos-1]
}

func (p *soqlParser) expect(want string) error {
	if got := p.next(); !strings.EqualFold(got, want) {
		return fmt.Errorf("expecting %s, found %q", want, got)
	}
	return nil
}

func parseSOQL(q string) (*soqlQuery, error) {
	toks, err := tokenize(q)
	if err != nil {
		return nil, err
	}
	p := &soqlParser{toks: toks}
	if err := p.expect("SELECT"); err != nil {
		return nil, err
	}
	sq := &soqlQuery{}
	for {
		sq.fields = append(sq.fields, p.next())
		if t := p.next(); strings.EqualFold(t, "FROM") {
			break
		} else if t != "," {
			return nil, fmt.Errorf("expecting FROM, found %q", t)
		}
	}
	sq.object = p.next()
	return sq, p.parseTail(sq)
}

func (p *soqlParser) parseTail(sq *soqlQuery) error {
	for kw := p.next(); kw != ""; kw = p.next() {
		switch strings.ToUpper(kw) {
		case "WHERE", "AND":
			c, err := p.cond()
			if err != nil {
				return err
			}
			sq.where = append(sq.where, c)
		case "LIMIT":
			n, err := strconv.Atoi(p.next())
			if err != nil {
				return fmt.Errorf("bad LIMIT: %w", err)
			}
			sq.limit = n
		default:
			return fmt.Errorf("unexpected token: %q", kw)
		}
	}
	return nil
}

func (p *soqlParser) cond() (soqlCond, error) {
	c := soqlCond{field: p.next()}
	switch op := p.next(); strings.ToUpper(op) {
	case "=":
		v, err := literal(p.next())
		c.values = []any{v}
		return c, err
	case "IN":
		if err := p.expect("("); err != nil {
			return c, err
		}
		for {
			v, err := literal(p.next())
			if err != nil {
				return c, err
			}
			c.values = append(c.values, v)
			if t := p.next(); t == ")" {
				return c, nil
			} else if t != "," {
				return c, fmt.Errorf("expecting ',' or ')', found %q", t)
			}
		}
	default:
		return c, fmt.Errorf("unsupported operator %q", op)
	}
}

func literal(tok string) (any, error) {
	switch {
	case strings.EqualFold(tok, "true"), strings.EqualFold(tok, "false"):
		return strings.EqualFold(tok, "true"), nil
	case len(tok) >= 2 && tok[0] == '\'':
		r := strings.NewReplacer(`\\`, `\`, `\'`, `'`, `\n`, "\n", `\r`, "\r", `\t`, "\t")
		return r.Replace(tok[1 : len(tok)-1]), nil
	}
	return nil, fmt.Errorf("expecting a literal, found %q", tok)
}

func (c soqlCond) matches(row map[string]any) bool {
	for _, want := range c.values {
		switch w := want.(type) {
		case bool:
			if got, _ := row[c.field].(bool); got == w {
				return true
			}
		case string:
			got, _ := row[c.field].(string)
			if strings.HasSuffix(c.field, "Id") && idKey(got) == idKey(w) && got != "" {
				return true // ids match in their 15- or 18-character form, case-sensitively
			}
			if !strings.HasSuffix(c.field, "Id") && strings.EqualFold(got, w) {
				return true
			}
		}
	}
	return false
}

func (o *fakeOrg) handleQuery(w http.ResponseWriter, q string) string {
	sq, err := parseSOQL(q)
	if err != nil {
		restErrors(w, http.StatusBadRequest, "MALFORMED_QUERY", err.Error())
		return "query"
	}
	if sq.object == "User" {
		for _, f := range sq.fields {
			if !userSchema[f] {
				restErrors(w, http.StatusBadRequest, "INVALID_FIELD", "No such column '"+f+"' on entity 'User'.")
				return "query User"
			}
		}
	}
	if bad := sq.malformedID(); bad != "" {
		restErrors(w, http.StatusBadRequest, "INVALID_QUERY_FILTER_OPERATOR", "invalid ID field: "+bad)
		return "query " + sq.object
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.tables[sq.object]; !ok {
		restErrors(w, http.StatusBadRequest, "INVALID_TYPE", "sObject type '"+sq.object+"' is not supported.")
		return "query " + sq.object
	}
	var out []map[string]any
	for _, row := range o.tables[sq.object] {
		if sq.keep(row) {
			out = append(out, sq.project(row))
		}
	}
	if sq.limit > 0 && len(out) > sq.limit {
		out = out[:sq.limit]
	}
	o.writePage(w, len(out), out)
	return "query " + sq.object
}

// malformedID returns a value compared with an id field (Id, AssigneeId,
// UserId...) that is not an id: an org refuses the whole query for it.
func (sq *soqlQuery) malformedID() string {
	for _, c := range sq.where {
		if !strings.HasSuffix(c.field, "Id") {
			continue
		}
		for _, v := range c.values {
			if s, ok := v.(string); ok && !sfIDRe.MatchString(s) {
				return s
			}
		}
	}
	return ""
}

func (sq *soqlQuery) keep(row map[string]any) bool {
	for _, c := range sq.where {
		if !c.matches(row) {
			return false
		}
	}
	return true
}

// project returns the selected fields with the attributes map every
// record of a query answer carries.
func (sq *soqlQuery) project(row map[string]any) map[string]any {
	typ := row["attributes"].(map[string]any)["type"].(string)
	out := map[string]any{"attributes": map[string]any{"type": typ, "url": apiPrefix + "/sobjects/" + typ + "/" + row["Id"].(string)}}
	for _, f := range sq.fields {
		out[f] = row[f] // absent fields are null, as in an org
	}
	return out
}

// writePage answers with at most pageSize records and a nextRecordsUrl for
// the rest. Callers hold o.mu.
func (o *fakeOrg) writePage(w http.ResponseWriter, total int, rows []map[string]any) {
	page := map[string]any{"totalSize": total, "done": true}
	if len(rows) > o.pageSize {
		o.nextID++
		locator := fmt.Sprintf("01gFAKE%06d-%d", o.nextID, o.pageSize)
		o.cursors[locator] = rows[o.pageSize:]
		rows = rows[:o.pageSize]
		page["done"] = false
		page["nextRecordsUrl"] = apiPrefix + "/query/" + locator
	}
	if rows == nil {
		rows = []map[string]any{}
	}
	page["records"] = rows
	writeJSON(w, http.StatusOK, page)
}

func (o *fakeOrg) handleQueryMore(w http.ResponseWriter, locator string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	rows, ok := o.cursors[locator]
	if !ok {
		restErrors(w, http.StatusBadRequest, "INVALID_QUERY_LOCATOR", "invalid query locator")
		return
	}
	delete(o.cursors, locator)
	o.writePage(w, len(rows), rows)
}
