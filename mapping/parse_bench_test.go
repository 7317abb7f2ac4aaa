package mapping

import (
	"os"
	"testing"
)

// BenchmarkParse measures loading the complete example mapping: a reload
// compiles every expression again.
func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile("../examples/mapping.yaml")
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		if _, err := Parse("mapping.yaml", data, AnyGroup{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseMistakes(b *testing.B) {
	data, err := os.ReadFile("testdata/errors/mistakes.yaml")
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		if _, err := Parse("mistakes.yaml", data, AnyGroup{}); err == nil {
			b.Fatal("no error")
		}
	}
}
