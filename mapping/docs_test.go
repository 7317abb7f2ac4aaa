package mapping

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// TestDocsExamplesCompile loads every YAML example of docs/mapping.md, so the
// reference cannot drift from what the loader accepts. Snippets without an
// identity get a minimal one.
func TestDocsExamplesCompile(t *testing.T) {
	doc, err := os.ReadFile("../docs/mapping.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := yamlBlock.FindAllStringSubmatch(string(doc), -1)
	if len(blocks) < 8 {
		t.Fatalf("found %d YAML examples in docs/mapping.md", len(blocks))
	}
	for _, b := range blocks {
		src := b[1]
		switch {
		case !strings.Contains(src, "identity:"):
			src += "identity:\n  userName: mail\n"
		case !strings.Contains(src, "userName:"):
			src = strings.Replace(src, "identity:\n", "identity:\n  userName: mail\n", 1)
		}
		if !strings.Contains(src, "costCenter") {
			src += "directoryAttributes: [costCenter, corpStartDate]\n"
		}
		if _, err := Parse("docs.yaml", []byte(src), AnyGroup{}); err != nil {
			t.Errorf("example does not load:\n%s\n%v", b[1], err)
		}
	}
}
