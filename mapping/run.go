package mapping

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/expr-lang/expr/file"
)

// ExprError is an expression that failed on one person's data.
type ExprError struct {
	What string // "apps.slack.attributes.Email"
	File string
	Line int
	Col  int
	Err  error
}

func (e *ExprError) Error() string {
	return fmt.Sprintf("mapping: %s (%s:%d:%d): %v", e.What, e.File, e.Line, e.Col, e.Err)
}

func (e *ExprError) Unwrap() error { return e.Err }

func (p *program) fail(err error) error {
	// The VM's errors carry a multi-line source snippet; the position is
	// already in ExprError, so keep the one-line cause for logs and status.
	if fe, ok := err.(*file.Error); ok {
		err = fe.Unwrap()
		if err == nil {
			err = errors.New(fe.Message)
		}
	}
	return &ExprError{What: p.what, File: p.at.file, Line: p.at.line, Col: p.at.col, Err: err}
}

func run(s *state, p *program) (any, error) {
	if p.direct != nil {
		v, err := p.direct.read(s)
		if err != nil {
			return nil, p.fail(err)
		}
		return v, nil
	}
	v, err := s.vm.Run(p.prog, s)
	if err != nil {
		return nil, p.fail(err)
	}
	return v, nil
}

func runBool(s *state, p *program) (bool, error) {
	v, err := run(s, p)
	if err != nil {
		return false, err
	}
	switch b := v.(type) {
	case bool:
		return b, nil
	case nil:
		return false, nil
	}
	return false, p.fail(fmt.Errorf("gave %T, not true or false", v))
}

func runString(s *state, p *program) (string, error) {
	v, err := run(s, p)
	if err != nil {
		return "", err
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case nil:
		return "", nil
	}
	return "", p.fail(fmt.Errorf("gave %T, not text", v))
}

// jsonValue converts an expression result to the JSON values connectors
// take. An empty text or list means "no value" and becomes nil, so an app
// attribute is cleared rather than set to "".
func jsonValue(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool:
		return x, nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("gave a number that is not finite")
		}
		return x, nil
	case string:
		if x == "" {
			return nil, nil
		}
		return x, nil
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case float32:
		return float64(x), nil
	case []string:
		return stringList(x), nil
	case []any:
		return anyList(x)
	case time.Time:
		return nil, fmt.Errorf("gave a time; format it with formatTime(t, \"datetime\")")
	}
	return nil, fmt.Errorf("gave %T, not text, true/false, a number or a list", v)
}

func stringList(l []string) any {
	if len(l) == 0 {
		return nil
	}
	out := make([]any, len(l))
	for i, s := range l {
		out[i] = s
	}
	return out
}

func anyList(l []any) (any, error) {
	if len(l) == 0 {
		return nil, nil
	}
	out := make([]any, 0, len(l))
	for _, e := range l {
		v, err := jsonValue(e)
		if err != nil {
			return nil, err
		}
		if _, nested := v.([]any); nested {
			return nil, fmt.Errorf("gave a list inside a list")
		}
		if v != nil { // empty values drop out: [mail, otherMailbox] with no otherMailbox
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}
