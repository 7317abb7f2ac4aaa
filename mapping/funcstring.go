package mapping

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// String functions of the expression language. Each takes and returns plain
// strings; a missing attribute is "" and every function accepts it.

func fnLower(a ...any) (any, error) { return strings.ToLower(a[0].(string)), nil }
func fnUpper(a ...any) (any, error) { return strings.ToUpper(a[0].(string)), nil }
func fnTrim(a ...any) (any, error)  { return strings.TrimSpace(a[0].(string)), nil }

func fnReplace(a ...any) (any, error) {
	return strings.ReplaceAll(a[0].(string), a[1].(string), a[2].(string)), nil
}

func fnSplit(a ...any) (any, error) {
	s, sep := a[0].(string), a[1].(string)
	if s == "" {
		return []string{}, nil // splitting nothing gives nothing, not [""]
	}
	return strings.Split(s, sep), nil
}

func fnJoin(a ...any) (any, error) {
	var parts []string
	switch l := a[0].(type) {
	case []string:
		parts = l
	case []any:
		parts = make([]string, 0, len(l))
		for _, v := range l {
			if v == nil {
				continue
			}
			parts = append(parts, fmt.Sprint(v))
		}
	}
	return strings.Join(parts, a[1].(string)), nil
}

// fnCoalesce returns the first argument that is not empty after trimming
// spaces: directory values are often " " where a person left a field blank.
func fnCoalesce(a ...any) (any, error) {
	for _, v := range a {
		if s, _ := v.(string); strings.TrimSpace(s) != "" {
			return s, nil
		}
	}
	return "", nil
}

// left, right and substring count characters (runes), not bytes, so they
// never cut "Zoë" in the middle of the ë.
func fnLeft(a ...any) (any, error) {
	r, n := []rune(a[0].(string)), clampLen(a[1].(int))
	return string(r[:min(n, len(r))]), nil
}

func fnRight(a ...any) (any, error) {
	r, n := []rune(a[0].(string)), clampLen(a[1].(int))
	return string(r[len(r)-min(n, len(r)):]), nil
}

// fnSubstring takes a 0-based start and a length; parts outside the string
// are empty rather than an error.
func fnSubstring(a ...any) (any, error) {
	r := []rune(a[0].(string))
	start, n := clampLen(a[1].(int)), clampLen(a[2].(int))
	if start >= len(r) {
		return "", nil
	}
	return string(r[start:min(start+n, len(r))]), nil
}

func clampLen(n int) int {
	if n < 0 {
		return 0
	}
	return n
}

// asciiFold maps letters that Unicode does not decompose into a base letter
// plus a mark, so that normalize() still turns them into plain ASCII.
var asciiFold = strings.NewReplacer(
	"ß", "ss", "ẞ", "SS", "Æ", "AE", "æ", "ae", "Œ", "OE", "œ", "oe", "Ø", "O", "ø", "o",
	"Ł", "L", "ł", "l", "Đ", "D", "đ", "d", "Ð", "D", "ð", "d", "Þ", "Th", "þ", "th", "ı", "i",
	"Ħ", "H", "ħ", "h", "Ŧ", "T", "ŧ", "t", "Ŋ", "N", "ŋ", "n", "ĸ", "k",
)

// fnNormalize removes diacritics: "Zoë Ångström" becomes "Zoe Angstrom".
// Letters of other scripts keep their base letter.
func fnNormalize(a ...any) (any, error) { return normalizeText(a[0].(string)), nil }

func normalizeText(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return s // most names: nothing to do, nothing to allocate
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r < 0x80:
			b.WriteRune(r)
		case r < latinEnd:
			b.WriteString(latinFold[r-latinStart])
		default:
			b.WriteString(foldRune(r))
		}
	}
	return b.String()
}

// latinFold is foldRune precomputed for Latin-1 Supplement and Latin
// Extended-A and -B, where nearly every name's diacritics are.
const latinStart, latinEnd = 0x80, 0x250

var latinFold = func() []string {
	t := make([]string, latinEnd-latinStart)
	for r := rune(latinStart); r < latinEnd; r++ {
		t[r-latinStart] = foldRune(r)
	}
	return t
}()

// foldRune decomposes r (NFD), drops the combining marks and recomposes what
// is left (NFC, which matters for scripts such as Hangul).
func foldRune(r rune) string {
	s := string(r)
	if f := asciiFold.Replace(s); f != s {
		return f
	}
	var b strings.Builder
	for _, d := range norm.NFD.String(s) {
		if !unicode.Is(unicode.Mn, d) {
			b.WriteRune(d)
		}
	}
	return norm.NFC.String(b.String())
}

// regexCache holds the patterns of regexReplace, compiled once at load: the
// pattern must be a literal, so a bad one is a load error with its position.
// Go's regexp runs in linear time, so a hostile value cannot stall it.
var regexCache sync.Map // pattern -> *regexp.Regexp

func compileRegex(pattern string) error {
	if _, ok := regexCache.Load(pattern); ok {
		return nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return err
	}
	regexCache.Store(pattern, re)
	return nil
}

func fnRegexReplace(a ...any) (any, error) {
	re, ok := regexCache.Load(a[1].(string))
	if !ok {
		return nil, fmt.Errorf("regexReplace: pattern %q was not compiled at load", a[1])
	}
	return re.(*regexp.Regexp).ReplaceAllString(a[0].(string), a[2].(string)), nil
}
