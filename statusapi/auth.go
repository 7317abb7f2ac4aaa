package statusapi

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/dirbridge/dirbridge/config"
)

// Roles of the status API. Acting needs a bearer token, which browsers never
// attach on their own, so a forged cross-site form cannot act (CSRF).
const (
	roleOperator = "operator" // retry, cancel, complete by hand, full read
	roleApprover = "approver" // also approve and deny
)

// minTokenLength matches config's rule for status.users tokens.
const minTokenLength = 16

type actorKey struct{}

// requireRole lets through requests whose bearer token belongs to a user
// with the role (an approver may do what an operator may), and records who
// it is for the provisioning log.
func (s *Server) requireRole(role string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		users, err := s.users()
		if err != nil {
			writeError(w, http.StatusForbidden, err.Error())
			return
		}
		got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		for _, u := range users {
			if subtle.ConstantTimeCompare([]byte(got), []byte(u.Token.Reveal())) != 1 {
				continue
			}
			if role == roleApprover && u.Role != roleApprover {
				writeError(w, http.StatusForbidden, u.Name+" is an operator; approving and denying needs an approver")
				return
			}
			next(w, r.WithContext(context.WithValue(r.Context(), actorKey{}, u.Name)))
			return
		}
		writeError(w, http.StatusUnauthorized, "a valid bearer token is required for this action")
	}
}

// users are the configured users plus the holder of status.tokenFile.
func (s *Server) users() ([]config.StatusUser, error) {
	users := append([]config.StatusUser(nil), s.cfg.Status.Users...)
	if s.cfg.Status.TokenFile != "" {
		b, err := os.ReadFile(s.cfg.Resolve(s.cfg.Status.TokenFile))
		if err != nil {
			return nil, fmt.Errorf("actions are disabled: cannot read status.tokenFile: %w", err)
		}
		tok := strings.TrimSpace(string(b))
		if len(tok) < minTokenLength {
			return nil, errors.New("actions are disabled: the status token must be at least 16 characters")
		}
		users = append(users, config.StatusUser{Name: "token-file", Role: roleApprover, Token: config.NewSecret(tok)})
	}
	if len(users) == 0 {
		return nil, errors.New("actions are disabled: set status.users or status.tokenFile in the agent config")
	}
	return users, nil
}

// actor names who acted, for the provisioning log: the authenticated user,
// and whom a tool acted for when it says so (X-Dirbridge-Actor).
func actor(r *http.Request) string {
	who, _ := r.Context().Value(actorKey{}).(string)
	if onBehalf := strings.TrimSpace(r.Header.Get("X-Dirbridge-Actor")); onBehalf != "" && onBehalf != who {
		who += " for " + onBehalf
	}
	return who + " (status API from " + r.RemoteAddr + ")"
}
