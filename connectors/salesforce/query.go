package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// queryPage is one page of a SOQL query answer.
type queryPage struct {
	TotalSize      int               `json:"totalSize"`
	Done           bool              `json:"done"`
	NextRecordsURL string            `json:"nextRecordsUrl"`
	Records        []json.RawMessage `json:"records"`
}

// query runs a SOQL query and calls fn for every record, page by page
// (Salesforce returns up to 2,000 records a page and a nextRecordsUrl), so
// memory stays flat whatever the org's size.
func (c *client) query(ctx context.Context, soql string, fn func(json.RawMessage) error) error {
	path := "/query/?q=" + url.QueryEscape(soql)
	for path != "" {
		var page queryPage
		if err := c.do(ctx, "GET", path, nil, &page); err != nil {
			return err
		}
		for _, r := range page.Records {
			if err := fn(r); err != nil {
				return err
			}
		}
		path = ""
		if !page.Done {
			path = page.NextRecordsURL
		}
	}
	return nil
}

// queryAll decodes every record of soql into a slice of T.
func queryAll[T any](ctx context.Context, c *client, soql string) ([]T, error) {
	var out []T
	err := c.query(ctx, soql, func(raw json.RawMessage) error {
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("decode %s record: %w", soqlObject(soql), err)
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// quote returns s as a SOQL string literal: backslash and single quote are
// the characters SOQL requires escaped.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
	return "'" + r.Replace(s) + "'"
}

// inList returns ('a','b') for a SOQL IN clause.
func inList(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = quote(v)
	}
	return "(" + strings.Join(q, ",") + ")"
}

func soqlObject(soql string) string {
	_, after, _ := strings.Cut(soql, " FROM ")
	obj, _, _ := strings.Cut(after, " ")
	return obj
}
