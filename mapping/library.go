package mapping

import (
	"time"

	"github.com/expr-lang/expr"
)

// libFunc is a function of the expression language.
type libFunc struct {
	impl  func(...any) (any, error)
	types []any // the signatures the type checker knows it by
}

// library is every function an admin can call, by name. There is no file,
// network or process access among them, and each does work linear in its
// input. The functions marked internal (leading underscore) cannot be written
// in a mapping file; the rewriter turns memberOf(...), now() comparisons,
// attribute names and the like into calls to them.
var library = map[string]libFunc{
	"lower":           {fnLower, []any{new(func(string) string)}},
	"upper":           {fnUpper, []any{new(func(string) string)}},
	"trim":            {fnTrim, []any{new(func(string) string)}},
	"normalize":       {fnNormalize, []any{new(func(string) string)}},
	"replace":         {fnReplace, []any{new(func(string, string, string) string)}},
	"regexReplace":    {fnRegexReplace, []any{new(func(string, string, string) string)}},
	"split":           {fnSplit, []any{new(func(string, string) []string)}},
	"join":            {fnJoin, []any{new(func([]string, string) string), new(func([]any, string) string)}},
	"coalesce":        {fnCoalesce, []any{new(func(...string) string)}},
	"left":            {fnLeft, []any{new(func(string, int) string)}},
	"right":           {fnRight, []any{new(func(string, int) string)}},
	"substring":       {fnSubstring, []any{new(func(string, int, int) string)}},
	"parseTime":       {fnParseTime, []any{new(func(string, string) time.Time)}},
	"formatTime":      {fnFormatTime, []any{new(func(time.Time, string) string)}},
	"fileTime":        {fnFileTime, []any{new(func(string) time.Time)}},
	"generalizedTime": {fnGeneralizedTime, []any{new(func(string) time.Time)}},
	"addDays":         {fnAddDays, []any{new(func(time.Time, int) time.Time)}},
	"isSet":           {fnIsSet, []any{new(func(time.Time) bool)}},
	"adDisabled":      {fnADDisabled, []any{new(func(string) bool)}},
	"hasFlag":         {fnHasFlag, []any{new(func(string, int) bool)}},
	"guid":            {fnGUID, []any{new(func(string) string)}},

	"_attr":           {fnAttr, []any{new(func(*state, string) string)}},
	"_values":         {fnValues, []any{new(func(*state, string) []string)}},
	"_dn":             {fnDN, []any{new(func(*state) string)}},
	"_member":         {fnMember, []any{new(func(*state, string, bool) bool)}},
	"_inOU":           {fnInOU, []any{new(func(*state, string) bool)}},
	"_identityString": {fnIdentityString, []any{new(func(*state, int) string)}},
	"_identityBool":   {fnIdentityBool, []any{new(func(*state, int) bool)}},
	"_nowCompare":     {fnNowCompare, []any{new(func(*state, string, time.Time, bool) bool)}},
	"_accountExpired": {fnAccountExpired, []any{new(func(*state, string) bool)}},
	"_unique": {fnUnique, []any{
		new(func(*state, string, string, []any) string), new(func(*state, string, string, []string) string)}},
}

// specialFuncs are written by admins but rewritten at load: their arguments
// need the evaluation state or must be literals checked at load.
var specialFuncs = []string{"memberOf", "memberOfNested", "inOU", "values", "attr", "unique", "now", "accountExpired"}

// builtins are the expr-lang built-ins kept: list helpers and conversions.
// The rest are disabled so the language stays what docs/mapping.md documents
// (and `repeat` cannot build a gigabyte string).
var builtins = []string{
	"len", "filter", "map", "any", "all", "none", "count", "first", "last",
	"int", "string", "uniq", "sort", "trimPrefix", "trimSuffix", "hasPrefix", "hasSuffix",
}

// exprOptions are the compile options shared by every expression.
var exprOptions = func() []expr.Option {
	opts := []expr.Option{expr.Env(&state{}), expr.DisableAllBuiltins()}
	for _, b := range builtins {
		opts = append(opts, expr.EnableBuiltin(b))
	}
	for name, f := range library {
		opts = append(opts, expr.Function(name, f.impl, f.types...))
	}
	return opts
}()

// publicFunctions lists the names admins may call, for "did you mean".
func publicFunctions() []string {
	out := append([]string{}, specialFuncs...)
	out = append(out, builtins...)
	for name := range library {
		if name[0] != '_' {
			out = append(out, name)
		}
	}
	return out
}
