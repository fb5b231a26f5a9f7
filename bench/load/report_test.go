package main

import (
	"strings"
	"testing"
	"time"
)

func ok(requests int64) result {
	return result{Requests: requests, Duration: 10 * time.Second, P50: time.Millisecond, P99: 5 * time.Millisecond}
}

func TestVerdict(t *testing.T) {
	tests := []struct {
		name      string
		umm, peer result
		want      string
	}{
		{"two valid measurements give the ratio of their rates", ok(10000), ok(2500), "4.00x"},
		{"a peer that returned errors failed, however many requests it finished",
			ok(10000), result{Requests: 5000, Failures: 3, FirstErr: "status 500", Duration: 10 * time.Second},
			"peer failed: 3 of 5003 requests failed, first: status 500"},
		{"a peer whose one request failed failed (no 3536.20x)",
			ok(3540), result{Requests: 0, Failures: 1, FirstErr: "authorize error error: The error is unrecognizable", Duration: 10 * time.Second},
			"peer failed: authorize error error: The error is unrecognizable"},
		{"a peer that finished nothing within the phase timed out (no 0.00x)",
			ok(80000), result{Unfinished: `Post "http://127.0.0.1:1/oauth2/token": context deadline exceeded`, Duration: 10 * time.Second},
			`peer failed: timed out: no request completed within the phase, still waiting for Post "http://127.0.0.1:1/oauth2/token": context deadline exceeded`},
		{"a peer that answered nothing failed", ok(80000), result{Duration: 10 * time.Second}, "peer failed: no request completed"},
		{"a handful of requests is no rate", ok(80000), ok(3), "peer failed: only 3 requests completed in 10s, too few for a rate"},
		{"a failed setup is the reason", ok(100), result{Failures: 1, FirstErr: "setup: status 404", Duration: time.Nanosecond}, "peer failed: setup: status 404"},
		{"UMM failing is said too", result{Failures: 2, Requests: 100, FirstErr: "status 429", Duration: time.Second}, ok(100),
			"UMM failed: 2 of 102 requests failed, first: status 429"},
		{"both failing names both", result{Duration: time.Second}, result{Duration: time.Second},
			"UMM failed: no request completed; peer failed: no request completed"},
		{"a reason cannot break the table", ok(100), result{Failures: 1, FirstErr: "a | b\nc", Duration: time.Second}, "peer failed: a / b c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := verdict(tt.umm, tt.peer); got != tt.want {
				t.Errorf("verdict = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestVerdictShortensLongReasons(t *testing.T) {
	got := verdict(ok(100), result{Failures: 1, FirstErr: strings.Repeat("x", 1000), Duration: time.Second})
	if !strings.HasPrefix(got, "peer failed: xxx") || len(got) > 260 || !strings.HasSuffix(got, "…") {
		t.Errorf("verdict = %q (%d bytes), want a reason cut at 240 bytes", got, len(got))
	}
}

func TestLoginCells(t *testing.T) {
	logins := func(perSecond int64) result { return ok(perSecond * 10) } // over the 10 s phase
	tests := []struct {
		name             string
		l                loginMeasure
		wantRef, wantRat string
	}{
		{"logins below the pure hash rate give their ratio",
			loginMeasure{logins: logins(27), argonBefore: 29, argonAfter: 28},
			"28.5/s (before 29.0/s, after 28.0/s)", "0.95x"},
		{"logins above the pure hash rate on the same core flag the reference as invalid",
			loginMeasure{logins: logins(28), argonBefore: 19, argonAfter: 22},
			"invalid reference: 20.5/s (before 19.0/s, after 22.0/s)",
			"flagged: logins ran at 1.37x the pure hash on the same core, which is impossible, so the reference was disturbed; rerun on a quiet machine"},
		{"a reference that moved during the phase is flagged, even below 1",
			loginMeasure{logins: logins(35), argonBefore: 30.9, argonAfter: 40.5},
			"invalid reference: 35.7/s (before 30.9/s, after 40.5/s)",
			"flagged: the pure hash rate moved by 31% between before and after, so the core's speed changed during the phase; rerun on a quiet machine"},
		{"failed logins are no result", loginMeasure{logins: result{Failures: 4, Requests: 200, FirstErr: "status 429", Duration: 10 * time.Second}, argonBefore: 29, argonAfter: 28},
			"28.5/s (before 29.0/s, after 28.0/s)", "UMM failed: 4 of 204 requests failed, first: status 429"},
		{"a missing reference gives no ratio", loginMeasure{logins: logins(27)}, "not measured", "no reference"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref, rat := loginCells(tt.l)
			if ref != tt.wantRef || rat != tt.wantRat {
				t.Errorf("loginCells = %q, %q; want %q, %q", ref, rat, tt.wantRef, tt.wantRat)
			}
		})
	}
}

func TestPlainRatio(t *testing.T) {
	if got := plainRatio(12.7, 123.7); got != "0.10x" {
		t.Errorf("plainRatio(12.7, 123.7) = %q, want 0.10x", got)
	}
	if got := plainRatio(12.7, 0); got != "not measured" {
		t.Errorf("plainRatio(12.7, 0) = %q, want not measured", got)
	}
}

// TestRenderPrintsNoRatioForAFailedPeer renders a whole report from the kinds of measurements a real
// run produced and checks the table says what happened instead of a ratio.
func TestRenderPrintsNoRatioForAFailedPeer(t *testing.T) {
	rep := dbReport{
		db: "sqlite", phase: 10 * time.Second, serverCore: 0, loadCore: 1,
		rows: []comparison{
			{"client_credentials c=16 vs Hydra default", ok(74370), ok(1130)},
			{"client_credentials c=64 vs Hydra JWT mode (1 iteration)", ok(74720),
				result{Unfinished: "context deadline exceeded", Duration: 10 * time.Second}},
			{"introspection c=16, distinct tokens", result{Requests: 40000, Duration: 4 * time.Second, Note: "all 40000 tokens minted in 20s were introspected after 4s"}, ok(12020)},
			{"authorization-code flows with SSO session c=16 (Hydra 1-iteration)", ok(3540),
				result{Failures: 1, FirstErr: "authorize error error: The error is unrecognizable", Duration: 10 * time.Second}},
		},
		ummReady: 12700 * time.Microsecond, peerReady: 123700 * time.Microsecond,
		ummIdle: 22938, peerIdle: 49254, ummPeak: 91546,
		login: loginMeasure{logins: ok(284), argonBefore: 19, argonAfter: 22.8, peakRSS: 85094},
	}
	got := render(rep)
	for _, want := range []string{
		"## sqlite (phase 10s, server on core 0, load on core 1)",
		"| client_credentials c=16 vs Hydra default | 7437/s | 113/s | 65.81x |",
		"| client_credentials c=64 vs Hydra JWT mode (1 iteration) | 7472/s | 0.0/s | peer failed: timed out: no request completed within the phase, still waiting for context deadline exceeded |",
		"| introspection c=16, distinct tokens | 10000/s | 1202/s | 8.32x |",
		"|  ↳ UMM | all 40000 tokens minted in 20s were introspected after 4s |",
		"| authorization-code flows with SSO session c=16 (Hydra 1-iteration) | 354/s | 0.0/s | peer failed: authorize error error: The error is unrecognizable |",
		"| start to first ready (restart, migrated DB) | 12.7ms | 123.7ms | 0.10x |",
		"| peak RSS under load | 89.4 MB | 0.0 MB | not measured |",
		"| 28.4/s (p50 1.0ms, p99 5.0ms, failed 0) | invalid reference: 20.9/s (before 19.0/s, after 22.8/s) | flagged:",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	for _, bad := range []string{"3536", "0.00x", "1.36x |"} {
		if strings.Contains(got, bad) {
			t.Errorf("report contains %q:\n%s", bad, got)
		}
	}
}

func TestPoolSize(t *testing.T) {
	tests := []struct {
		name  string
		rate  float64
		d     time.Duration
		limit int
		want  int
	}{
		{"a fifth more than the phase would use at the cached rate", 1000, 10 * time.Second, 200000, 12100},
		{"never more than the limit", 20000, 10 * time.Second, 200000, 200000},
		{"a failed cached phase still mints some", 0, 10 * time.Second, 200000, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := poolSize(tt.rate, tt.d, tt.limit); got != tt.want {
				t.Errorf("poolSize(%v, %v, %d) = %d, want %d", tt.rate, tt.d, tt.limit, got, tt.want)
			}
		})
	}
}
