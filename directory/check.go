package directory

import "context"

// Severity ranks a check finding.
type Severity string

const (
	SeverityOK      Severity = "ok"      // a fact worth showing (bind works, method chosen)
	SeverityWarning Severity = "warning" // works, but something is missed or weaker than it should be
	SeverityError   Severity = "error"   // the source cannot work as configured
)

// Finding is one line of `dirbridge check` for the directory.
type Finding struct {
	Severity Severity
	Subject  string // what was checked: "bind", "change detection", "deleted objects"
	Message  string // plain words: what was found and why it matters
	Fix      string // the exact command or setting that fixes it; empty when nothing to fix
}

// Checker is an optional capability of a Source (discovered with a type
// assertion): it connects, binds and reports what works and what is missing,
// with the grant that fixes each problem. It never changes the directory.
type Checker interface {
	Check(ctx context.Context) []Finding
}
