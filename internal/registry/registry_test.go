package registry

import (
	"reflect"
	"testing"
)

func TestRegistry(t *testing.T) {
	r := New[func() int]("things")
	r.Register("b", func() int { return 2 }, false)
	r.Register("a", func() int { return 1 }, false)
	if f, ok := r.Get("a"); !ok || f() != 1 {
		t.Fatal("a not found")
	}
	if _, ok := r.Get("c"); ok {
		t.Fatal("c found")
	}
	if got := r.Names(); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Fatalf("Names = %v", got)
	}
	for name, fn := range map[string]func(){
		"duplicate": func() { r.Register("a", func() int { return 3 }, false) },
		"nil":       func() { r.Register("n", nil, true) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s registration did not panic", name)
				}
			}()
			fn()
		}()
	}
}
