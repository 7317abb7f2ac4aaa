package mapping

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Time functions. Times are UTC; the zero time stands for "no date" (an
// empty attribute, AD's "never"), and formatTime prints it as "".

const (
	fileTimeNever = 9223372036854775807 // AD's accountExpires "never" (0x7FFFFFFFFFFFFFFF)
	// fileTimeEpochDelta is the number of seconds between 1601-01-01 (the
	// FILETIME epoch) and 1970-01-01 (the Unix epoch).
	fileTimeEpochDelta = 11644473600
)

// layoutNames are the friendly names accepted wherever a Go time layout is.
var layoutNames = map[string]string{
	"date":     "2006-01-02",
	"datetime": time.RFC3339,
	"RFC3339":  time.RFC3339,
}

// parseFileTime converts an AD FILETIME (100 ns intervals since 1601, as a
// decimal string) to a time; "", 0 and the maximum value mean never.
func parseFileTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s is not a FILETIME number", quoteShort(s))
	}
	if n <= 0 || n == fileTimeNever {
		return time.Time{}, nil
	}
	return time.Unix(n/1e7-fileTimeEpochDelta, (n%1e7)*100).UTC(), nil
}

func formatFileTime(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return strconv.FormatInt((t.Unix()+fileTimeEpochDelta)*1e7+int64(t.Nanosecond()/100), 10)
}

// generalizedLayouts are the forms of LDAP GeneralizedTime (RFC 4517) seen in
// practice: AD writes "20260101120000.0Z", OpenLDAP "20260101120000Z".
var generalizedLayouts = []string{
	"20060102150405Z0700", "20060102150405.999999999Z0700", "200601021504Z0700", "2006010215Z0700",
}

func parseGeneralizedTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	norm := strings.Replace(s, ",", ".", 1) // the fraction may use a comma
	for _, l := range generalizedLayouts {
		if t, err := time.Parse(l, norm); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%s is not a generalized time such as 20260101120000Z", quoteShort(s))
}

func parseTimeLayout(s, layout string) (time.Time, error) {
	s = strings.TrimSpace(s)
	switch layout {
	case "fileTime":
		return parseFileTime(s)
	case "generalized":
		return parseGeneralizedTime(s)
	}
	if s == "" {
		return time.Time{}, nil
	}
	if l, ok := layoutNames[layout]; ok {
		layout = l
	}
	t, err := time.Parse(layout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s does not match the layout %q", quoteShort(s), layout)
	}
	return t.UTC(), nil
}

func fnParseTime(a ...any) (any, error) {
	t, err := parseTimeLayout(a[0].(string), a[1].(string))
	if err != nil {
		return nil, fmt.Errorf("parseTime: %w", err)
	}
	return t, nil
}

func fnFormatTime(a ...any) (any, error) {
	t, layout := a[0].(time.Time), a[1].(string)
	switch {
	case t.IsZero():
		return "", nil
	case layout == "fileTime":
		return formatFileTime(t), nil
	case layout == "generalized":
		return t.UTC().Format("20060102150405Z"), nil
	}
	if l, ok := layoutNames[layout]; ok {
		layout = l
	}
	return t.UTC().Format(layout), nil
}

func fnFileTime(a ...any) (any, error) {
	t, err := parseFileTime(a[0].(string))
	if err != nil {
		return nil, fmt.Errorf("fileTime: %w", err)
	}
	return t, nil
}

func fnGeneralizedTime(a ...any) (any, error) {
	t, err := parseGeneralizedTime(a[0].(string))
	if err != nil {
		return nil, fmt.Errorf("generalizedTime: %w", err)
	}
	return t, nil
}

// fnAddDays moves a time by whole days; "no date" stays "no date".
func fnAddDays(a ...any) (any, error) {
	t := a[0].(time.Time)
	if t.IsZero() {
		return t, nil
	}
	return t.AddDate(0, 0, a[1].(int)), nil
}

// isTimeSet is isSet(t): false for the zero time ("no date").
func fnIsSet(a ...any) (any, error) { return !a[0].(time.Time).IsZero(), nil }
