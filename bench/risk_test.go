package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/risk"
	"github.com/umm-project/umm/internal/risk/risktest"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// BenchmarkRiskEvaluate is one risk assessment of a sign-in on SQLite, for a user with history: 30
// networks in two countries, the last sign-in in Berlin five minutes before, and failures counted for
// the address. The attempt comes from an unknown browser on a new network in another country, so every
// signal is computed. "no-geo" runs without a geo database, "geo" with one (a lookup per attempt, and
// the country and travel signals). p50-ns and p99-ns are the median and 99th percentile of single
// evaluations; ns/op their mean.
func BenchmarkRiskEvaluate(b *testing.B) {
	for _, geo := range []bool{false, true} {
		name := "no-geo"
		if geo {
			name = "geo"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			db := storetest.Open(b)
			tid := storetest.Tenant(b, db)
			if err := db.CreateUser(ctx, store.User{TenantID: tid, ID: "ann", Email: "ann@example.com", EmailNorm: "ann@example.com"}); err != nil {
				b.Fatal(err)
			}
			cfg := config.DefaultRisk()
			if geo {
				cfg.GeoIPDB = filepath.Join(b.TempDir(), "geo.mmdb")
				risktest.WriteGeoDB(b, cfg.GeoIPDB, []risktest.GeoEntry{
					risktest.Berlin.At("203.0.113.0/24"), risktest.Paris.At("198.51.100.0/24"),
					risktest.NewYork.At("2001:db8:1::/48"), risktest.Lyon.At("10.0.0.0/8"),
				})
			}
			e, err := risk.New(cfg, db)
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			now := time.Unix(1_800_000_000, 0)
			for i := range 29 {
				if err := e.RecordSuccess(ctx, nil, tid, "ann", fmt.Sprintf("10.0.%d.1", i), now.Add(-time.Duration(30-i)*time.Hour)); err != nil {
					b.Fatal(err)
				}
			}
			if err := e.RecordSuccess(ctx, nil, tid, "ann", "203.0.113.5", now.Add(-5*time.Minute)); err != nil {
				b.Fatal(err)
			}
			for i := range 12 {
				if err := e.RecordFailure(ctx, tid, "2001:db8:1:5::1", now.Add(-time.Duration(12-i)*time.Second)); err != nil {
					b.Fatal(err)
				}
			}
			at := risk.Attempt{TenantID: tid, UserID: "ann", IP: "2001:db8:1:5::1", LastSignIn: now.Add(-5 * time.Minute), Now: now}
			a, err := e.Evaluate(ctx, at)
			if err != nil {
				b.Fatal(err)
			}
			if !a.Has(risk.NewNetwork) || !a.Has(risk.IPFailures) || geo != a.Has(risk.ImpossibleTravel) {
				b.Fatalf("unexpected assessment: %+v", a)
			}
			durations := make([]time.Duration, 0, 1<<14)
			b.ReportAllocs()
			for b.Loop() {
				start := time.Now()
				if _, err := e.Evaluate(ctx, at); err != nil {
					b.Fatal(err)
				}
				durations = append(durations, time.Since(start))
			}
			slices.Sort(durations)
			b.ReportMetric(float64(durations[len(durations)/2]), "p50-ns")
			b.ReportMetric(float64(durations[len(durations)*99/100]), "p99-ns")
		})
	}
}
