package salesforce

import (
	"context"
	"net/url"
	"strings"
)

// maxCollection is the most records one sObject Collections call accepts.
const maxCollection = 200

// saveResult is one element of an sObject Collections answer (a SaveResult
// for POST and PATCH, a DeleteResult for DELETE), in request order.
type saveResult struct {
	ID      string        `json:"id"`
	Success bool          `json:"success"`
	Errors  []recordError `json:"errors"`
}

// collectionRequest is the body of a POST or PATCH to composite/sobjects.
type collectionRequest struct {
	AllOrNone bool             `json:"allOrNone"`
	Records   []map[string]any `json:"records"`
}

// outcome is the fate of one record: its id, or why it failed.
type outcome struct {
	id  string
	err error
}

// save creates (POST) or updates (PATCH) records of one sObject type in
// calls of at most 200, with allOrNone false so that one person's bad value
// does not fail the others. Records of one type per call: mixing types makes
// Salesforce process them as separate chunks and refuses setup objects (User,
// PermissionSetAssignment) mixed with others.
func (c *client) save(ctx context.Context, method, sobject string, records []map[string]any) []outcome {
	out := make([]outcome, 0, len(records))
	for start := 0; start < len(records); start += maxCollection {
		chunk := records[start:min(start+maxCollection, len(records))]
		for _, r := range chunk {
			r["attributes"] = map[string]string{"type": sobject}
		}
		var results []saveResult
		err := c.do(ctx, method, "/composite/sobjects", collectionRequest{Records: chunk}, &results)
		out = append(out, outcomes(len(chunk), results, err)...)
	}
	return out
}

// remove deletes records by id in calls of at most 200.
func (c *client) remove(ctx context.Context, ids []string) []outcome {
	out := make([]outcome, 0, len(ids))
	for start := 0; start < len(ids); start += maxCollection {
		chunk := ids[start:min(start+maxCollection, len(ids))]
		path := "/composite/sobjects?allOrNone=false&ids=" + url.QueryEscape(strings.Join(chunk, ","))
		var results []saveResult
		err := c.do(ctx, "DELETE", path, nil, &results)
		out = append(out, outcomes(len(chunk), results, err)...)
	}
	return out
}

// outcomes maps a call's answer back to its n records: a failed call fails
// each of them; a short answer fails the records it does not cover.
func outcomes(n int, results []saveResult, callErr error) []outcome {
	out := make([]outcome, n)
	for i := range out {
		switch {
		case callErr != nil:
			out[i].err = callErr
		case i >= len(results):
			out[i].err = errShortAnswer
		case results[i].Success:
			out[i].id = results[i].ID
		default:
			out[i].id = results[i].ID
			out[i].err = recordErr(results[i].Errors)
		}
	}
	return out
}
