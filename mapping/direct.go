package mapping

import "github.com/expr-lang/expr/ast"

// directRead is an expression that only reads one value: an attribute
// (`title`), an identity field (`identity.userName`) or a constant. Half the
// attributes of a typical mapping are like that; reading them without
// starting the expression VM is what keeps evaluation above 50,000 people/s
// on one core (docs/performance-mapping.md).
type directRead struct {
	attr  string // lower-case attribute name, or
	slot  int    // identity slot when attr == ""
	isStr bool   // the slot is in state.strs
	isBol bool   // the slot is in state.bools
	value any    // a constant, when neither attr nor slot applies
	// fn is a library function applied to direct reads (lower(mail),
	// normalize(identity.givenName)), called without the VM too.
	fn   func(...any) (any, error)
	args []*directRead
}

// maxDirectArgs bounds the arguments of a direct call: they are passed in
// a buffer of the evaluation state, so the call allocates nothing for them.
const maxDirectArgs = 4

func (d *directRead) read(s *state) (any, error) {
	switch {
	case d.fn != nil:
		return d.call(s)
	case d.attr != "":
		return s.attr(d.attr), nil
	case d.isStr:
		return s.strs[d.slot], nil
	case d.isBol:
		return s.bools[d.slot], nil
	}
	return d.value, nil
}

func (d *directRead) call(s *state) (any, error) {
	args := s.args[:len(d.args)]
	for i, a := range d.args {
		v, _ := a.read(s) // arguments are plain reads: they cannot fail
		args[i] = v
	}
	v, err := d.fn(args...)
	clear(args) // do not keep the person's values alive in the pool
	return v, err
}

// directReadOf recognizes the rewritten forms of a single read.
func directReadOf(n ast.Node) *directRead {
	switch v := n.(type) {
	case *ast.StringNode:
		return &directRead{value: v.Value}
	case *ast.BoolNode:
		return &directRead{value: v.Value}
	case *ast.IntegerNode:
		return &directRead{value: v.Value}
	case *ast.CallNode:
		if d := directCall(v); d != nil {
			return d
		}
		return libraryCall(v)
	}
	return nil
}

// libraryCall recognizes a public library function whose arguments are all
// plain reads or constants.
func libraryCall(c *ast.CallNode) *directRead {
	id, ok := c.Callee.(*ast.IdentifierNode)
	if !ok || len(c.Arguments) > maxDirectArgs || id.Value[0] == '_' {
		return nil
	}
	f, ok := library[id.Value]
	if !ok {
		return nil
	}
	d := &directRead{fn: f.impl}
	for _, a := range c.Arguments {
		r := directReadOf(a)
		if r == nil || r.fn != nil {
			return nil
		}
		d.args = append(d.args, r)
	}
	return d
}

func directCall(c *ast.CallNode) *directRead {
	id, ok := c.Callee.(*ast.IdentifierNode)
	if !ok || len(c.Arguments) != 2 {
		return nil
	}
	switch arg := c.Arguments[1].(type) {
	case *ast.StringNode:
		if id.Value == "_attr" {
			return &directRead{attr: arg.Value}
		}
	case *ast.IntegerNode:
		switch id.Value {
		case "_identityString":
			return &directRead{slot: arg.Value, isStr: true}
		case "_identityBool":
			return &directRead{slot: arg.Value, isBol: true}
		}
	}
	return nil
}
