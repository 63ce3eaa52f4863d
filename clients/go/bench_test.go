package sessiond_test

import (
	"context"
	"testing"

	sessiond "sessiond.dev/client/go"
	"sessiond.dev/client/go/internal/testserver"
)

// BenchmarkReadModifyCommit is one web request's session work: open by id, read (one Get), change,
// commit (one Commit), against a real sessiond on loopback.
func BenchmarkReadModifyCommit(b *testing.B) {
	ctx := context.Background()
	client := newClient(b)
	created, err := client.Create(ctx, sessiond.CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		s := client.Open(created.ID())
		n, _ := s.GetInt(ctx, "n")
		s.SetInt("n", n+1)
		if err := s.Commit(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRead is a request that only reads its session: one Get, or none from the near cache.
func BenchmarkRead(b *testing.B) {
	for _, mode := range []struct {
		name string
		opts sessiond.Options
	}{{"rpc", sessiond.Options{}}, {"nearcache", sessiond.Options{NearCacheMaxBytes: 1 << 20}}} {
		b.Run(mode.name, func(b *testing.B) {
			ctx := context.Background()
			client := testserver.Start(b).Client(b, mode.opts)
			if mode.opts.NearCacheMaxBytes > 0 {
				waitServing(b, client)
			}
			s := client.New(sessiond.CreateOptions{})
			s.SetString("user", "ann")
			if err := s.Commit(ctx); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, ok := client.Open(s.ID()).GetString(ctx, "user"); !ok {
					b.Fatal("user not found")
				}
			}
		})
	}
}

// BenchmarkReadConcurrently is BenchmarkRead from 64 goroutines per CPU, with automatic batching
// and without: what batching changes for a busy web tier.
func BenchmarkReadConcurrently(b *testing.B) {
	for _, mode := range []struct {
		name string
		opts sessiond.Options
	}{{"batching", sessiond.Options{}}, {"unbatched", sessiond.Options{DisableBatching: true}}} {
		b.Run(mode.name, func(b *testing.B) {
			ctx := context.Background()
			client := testserver.Start(b).Client(b, mode.opts)
			s, err := client.Create(ctx, sessiond.CreateOptions{})
			if err != nil {
				b.Fatal(err)
			}
			b.SetParallelism(64)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := client.Open(s.ID()).Load(ctx); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
