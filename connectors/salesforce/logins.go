package salesforce

import (
	"context"

	"github.com/dirbridge/dirbridge/connectors"
)

// freeze sets UserLogin.IsFrozen where the operation wants it changed. It
// runs before the User records are written, so a termination freezes the
// account (which stops logins at once) before it tries to deactivate it,
// and the freeze holds even when the deactivation is refused. With
// afterCreate it freezes the users just created for a frozen person, whose
// UserLogin exists only now.
func (c *Connector) freeze(ctx context.Context, jobs []*job, afterCreate bool) {
	var pending []*job
	if afterCreate {
		pending = pick(jobs, func(j *job) bool { return j.create && j.user != nil && j.req.Desired.Frozen })
		if err := c.lookupLogins(ctx, pending); err != nil {
			failAll(pending, err)
			return
		}
	} else {
		pending = pick(jobs, func(j *job) bool { return j.user != nil })
	}
	var todo []*job
	var recs []map[string]any
	for _, j := range pending {
		target, ok := frozenTarget(j)
		switch {
		case !ok || target == j.frozen:
		case j.loginID == "":
			j.fail(connectors.Errorf(connectors.Retryable, "", "user %s has no UserLogin record yet", j.user.ID))
		default:
			todo = append(todo, j)
			recs = append(recs, map[string]any{"Id": j.loginID, "IsFrozen": target})
		}
	}
	for i, o := range c.client.save(ctx, "PATCH", "UserLogin", recs) {
		if o.err != nil {
			todo[i].fail(o.err)
			continue
		}
		todo[i].frozen = recs[i]["IsFrozen"].(bool)
	}
}

// frozenTarget is the IsFrozen the operation leads to; ok is false when the
// operation leaves it alone.
func frozenTarget(j *job) (target, ok bool) {
	switch j.req.Op {
	case connectors.OpDeactivate, connectors.OpFreeze:
		return true, true
	case connectors.OpUnfreeze:
		return false, true
	case connectors.OpActivate, connectors.OpReactivate, connectors.OpCreate:
		return j.req.Desired.Frozen, true
	}
	return false, false
}
