package outbox

import (
	"context"
	"fmt"
	"hash/fnv"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dirbridge/dirbridge/connectors"
)

// benchRequest is a ~512-byte request, as the targets assume.
func benchRequest(i int) NewRequest {
	u := &connectors.User{Anchor: fmt.Sprintf("%032x", i), UserName: fmt.Sprintf("user%d@corp.example", i), Active: true,
		Attributes: map[string]any{"displayName": "Bench User", "title": strings.Repeat("t", 120)}}
	return NewRequest{App: "app", PersonID: benchPerson(i), Op: connectors.OpCreate,
		Reason: "bench: added to group CN=Slack Users", Target: u}
}

func benchStore(b *testing.B) *Store {
	b.Helper()
	s, err := Open(filepath.Join(b.TempDir(), "state.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkGroupCommit: P producers, each waiting for its own durable
// acknowledgement (fsync on). Reports events/s and the p99 acknowledgement
// latency.
func BenchmarkGroupCommit(b *testing.B) {
	for _, producers := range []int{64, 256, 1024} {
		b.Run(fmt.Sprintf("producers=%d", producers), func(b *testing.B) {
			s := benchStore(b)
			var next atomic.Int64
			lat := make([][]time.Duration, producers)
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for p := 0; p < producers; p++ {
				wg.Add(1)
				go func(p int) {
					defer wg.Done()
					for {
						i := int(next.Add(1))
						if i > b.N {
							return
						}
						t0 := time.Now()
						err := s.Update(context.Background(), func(tx *Tx) error { _, err := tx.Enqueue(benchRequest(i)); return err })
						if err != nil {
							b.Error(err)
							return
						}
						lat[p] = append(lat[p], time.Since(t0))
					}
				}(p)
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			all := slices.Concat(lat...)
			slices.Sort(all)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
			if len(all) > 0 {
				b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ack-ms")
			}
		})
	}
}

// BenchmarkOnePerTransaction: one request per transaction, fsync each.
func BenchmarkOnePerTransaction(b *testing.B) {
	s := benchStore(b)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if err := s.UpdateOne(func(tx *Tx) error { _, err := tx.Enqueue(benchRequest(i)); return err }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "requests/s")
}

// BenchmarkHandOutComplete: the dispatcher's cycle, claim a batch of 64 and
// complete each in its own transaction (as workers do).
func BenchmarkHandOutComplete(b *testing.B) {
	s := benchStore(b)
	for i := 0; i < b.N; i += 1000 {
		err := s.UpdateOne(func(tx *Tx) error {
			for j := i; j < min(i+1000, b.N); j++ {
				if _, err := tx.Enqueue(benchRequest(j)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	start := time.Now()
	done := 0
	for done < b.N {
		var work []Work
		if err := s.Update(context.Background(), func(tx *Tx) error {
			var err error
			work, err = tx.Claim("app", 64, time.Now(), nil)
			return err
		}); err != nil {
			b.Fatal(err)
		}
		var wg sync.WaitGroup
		for _, w := range work {
			wg.Add(1)
			go func(id uint64) {
				defer wg.Done()
				if err := s.Update(context.Background(), func(tx *Tx) error {
					return tx.Complete(id, connectors.Account{ExternalID: "x", Status: connectors.StatusActive})
				}); err != nil {
					b.Error(err)
				}
			}(w.Request.ID)
		}
		wg.Wait()
		done += len(work)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "requests/s")
}

// benchPerson spreads person keys like real objectGUIDs do (random order),
// so the benchmark pays for random inserts into the per-person buckets.
func benchPerson(i int) string {
	h := fnv.New64a()
	fmt.Fprint(h, i)
	return fmt.Sprintf("%016x-%d", h.Sum64(), i)
}
