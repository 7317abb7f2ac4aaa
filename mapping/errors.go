package mapping

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem in a mapping file, at the position of the offending
// text.
type Error struct {
	File string
	Line int // 1-based
	Col  int // 1-based
	Msg  string
}

func (e Error) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// Errors is every problem found while loading a set of mapping files. Load
// reports all of them at once, sorted by file and position, so an admin fixes
// a file in one pass. Error() prints one "file:line:col: message" per line.
type Errors []Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// errorList collects errors during a load.
type errorList struct{ errs Errors }

func (l *errorList) add(file string, line, col int, format string, args ...any) {
	if line < 1 {
		line = 1
	}
	if col < 1 {
		col = 1
	}
	l.errs = append(l.errs, Error{File: file, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
}

// err returns the sorted list, or nil when there is none. Duplicates (the
// same message at the same place, e.g. one group DN used twice in one
// expression) are reported once.
func (l *errorList) err() error {
	if len(l.errs) == 0 {
		return nil
	}
	sort.SliceStable(l.errs, func(i, j int) bool {
		a, b := l.errs[i], l.errs[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	out := l.errs[:0:0]
	for i, e := range l.errs {
		if i > 0 && e == l.errs[i-1] {
			continue
		}
		out = append(out, e)
	}
	return out
}
