package salesforce

import (
	"context"
	"fmt"

	"github.com/dirbridge/dirbridge/connectors"
)

// job is one request on its way through the phases of a batch. A phase
// skips a job that has failed; what the job learned of the org's account
// (user, frozen) stays, so a failed request still reports the account as the
// org has it, such as frozen but not deactivated.
type job struct {
	req     connectors.Request
	user    *sfUser // the org's account; nil until found or created
	create  bool    // no account matched: the user is created
	frozen  bool    // UserLogin.IsFrozen
	loginID string  // UserLogin id
	// profileID is set by resolve when the User record should carry the
	// profile: at create, adoption, reactivation, or a profile change.
	profileID string
	grants    grantDiff
	err       error
}

func (j *job) live() bool { return j.err == nil }

func (j *job) fail(err error) {
	if j.err == nil {
		j.err = fmt.Errorf("salesforce: %s %q: %w", j.req.Op, j.req.Desired.UserName, err)
	}
}

// Apply carries out one request; it is a batch of one.
func (c *Connector) Apply(ctx context.Context, req connectors.Request) (connectors.Account, error) {
	r := c.ApplyBatch(ctx, []connectors.Request{req})[0]
	return r.Account, r.Err
}

// ApplyBatch carries out requests for different people. Each phase sends
// the work of every request still going in as few sObject Collections calls
// as it can, and maps the per-record results back to the requests:
//
//  1. look the accounts up (stored link, anchor, then username) and their UserLogin;
//  2. resolve profile and permission set names (cached);
//  3. freeze or unfreeze (UserLogin), before any deactivation;
//  4. create or update the User records;
//  5. freeze users just created frozen;
//  6. assign permission set licences, then permission sets and groups, then remove.
func (c *Connector) ApplyBatch(ctx context.Context, reqs []connectors.Request) []connectors.Result {
	jobs := make([]*job, len(reqs))
	for i, r := range reqs {
		jobs[i] = &job{req: r}
		c.gate(jobs[i])
	}
	c.lookup(ctx, jobs)
	c.resolve(ctx, jobs)
	c.freeze(ctx, jobs, false)
	c.writeUsers(ctx, jobs)
	c.freeze(ctx, jobs, true)
	c.entitle(ctx, jobs)
	out := make([]connectors.Result, len(jobs))
	for i, j := range jobs {
		out[i] = connectors.Result{Account: c.account(j), Err: j.err}
		c.logResult(j)
	}
	return out
}

// CodeBudgetLow is the error code of a request held because the org's
// daily API budget is down to its reserve. Only non-urgent operations get
// it: a dispatcher that pauses just those on this code (rather than the
// whole app, as for REQUEST_LIMIT_EXCEEDED) lets terminations use the reserve.
const CodeBudgetLow = "API_BUDGET_LOW"

// gate refuses what cannot be sent: an unknown operation, a request without
// anchor, and, once the API budget runs low, everything but terminations,
// so that Deactivate and Freeze still get through at the end of the day.
func (c *Connector) gate(j *job) {
	switch {
	case !j.req.Op.Valid():
		j.fail(connectors.Errorf(connectors.Permanent, "", "unknown operation"))
	case j.req.Desired.Anchor == "" && j.req.Account.ExternalID == "":
		j.fail(connectors.Errorf(connectors.Permanent, "", "request has neither anchor nor link"))
	case !j.req.Op.Urgent() && c.client.budget.low(c.cfg.BudgetReservePercent):
		used, max := c.client.budget.usage()
		j.fail(&connectors.Error{Class: connectors.RateLimited, Code: CodeBudgetLow,
			RetryAfter: c.cfg.BudgetWait,
			Err:        fmt.Errorf("%d of %d daily API requests used; the last %d%% are kept for terminations", used, max, c.cfg.BudgetReservePercent)})
	}
}

// account reports the account as the job last saw it in the org.
func (c *Connector) account(j *job) connectors.Account {
	if j.user == nil {
		return connectors.Account{}
	}
	status := connectors.StatusActive
	switch {
	case !j.user.IsActive:
		status = connectors.StatusDeactivated
	case j.frozen:
		status = connectors.StatusFrozen
	}
	return connectors.Account{ExternalID: j.user.ID, UserName: j.user.Username,
		Anchor: j.user.Anchor, Status: status, Email: j.user.Email}
}

func (c *Connector) logResult(j *job) {
	ev := c.log.Debug()
	if j.err != nil {
		class, _ := connectors.ClassOf(j.err)
		ev = c.log.Warn().Err(j.err).Str("class", class.String())
	}
	id := ""
	if j.user != nil {
		id = j.user.ID
	}
	if j.live() && j.req.Op == connectors.OpCreate && !j.create {
		// Linking an existing account is worth an audit line of its own.
		ev = c.log.Info().Bool("adopted", true)
	}
	ev.Uint64("request", j.req.ID).Str("op", string(j.req.Op)).Str("person", j.req.PersonID).
		Str("userId", id).Msg("request applied")
}

// failAll fails every live job with err (a call that failed as a whole).
func failAll(jobs []*job, err error) {
	for _, j := range jobs {
		if j.live() {
			j.fail(err)
		}
	}
}
