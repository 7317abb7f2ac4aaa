package ldap

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/dirbridge/dirbridge/directory"
)

const benchPeople = 100_000

// BenchmarkFullReadOpenLDAP100k reads 100,000 people from a slapd seeded
// with slapadd (the seed and the server exist only while the benchmark
// runs). Target (issue 4): 10,000 entries/s or more with heap under 100 MB.
//
//	go test -run '^$' -bench FullReadOpenLDAP100k -benchtime 3x ./directory/ldap/
func BenchmarkFullReadOpenLDAP100k(b *testing.B) {
	slapd := startPrivateSlapd(b, "bench100k", 3895, benchPeople)
	src := newSource(b, slapd.env.settings("ou=people,"+slapd.env.base, ""), "uid", "cn", "sn", "givenName", "mail", "title")
	src.cfg.PageSize = 1000
	src.log = src.log.Level(1) // info: one line per read
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)

	var peak uint64
	total := 0
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		n := 0
		_, err := src.FullRead(context.Background(), func(_ context.Context, p directory.Page) error {
			n += len(p.Entries)
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms) // per page (100 per read): cheap next to the page itself
			peak = max(peak, ms.HeapInuse)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if n != benchPeople {
			b.Fatalf("read %d people, want %d", n, benchPeople)
		}
		total += n
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(total)/elapsed.Seconds(), "entries/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(base.HeapInuse)/(1<<20), "start-heap-MB")
}
