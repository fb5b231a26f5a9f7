package main

import (
	"fmt"
	"strings"
	"time"
)

// The report is built from the measurements by pure functions, so what it claims is tested apart from
// the servers: a ratio is printed only when both sides produced a valid measurement.

// minRequests is the fewest completed requests a phase needs before its rate is compared: below it the
// figure is a handful of samples whose timing is mostly the phase's edges.
const minRequests = 20

// comparison is one operation measured on UMM and on the peer under the same load.
type comparison struct {
	name      string
	umm, peer result
}

// loginMeasure is the password-login phase on UMM with its reference: the pure argon2id rate on the
// server core, measured before and after the phase.
type loginMeasure struct {
	logins                  result
	argonBefore, argonAfter float64 // hashes/s
	peakRSS                 int64   // KiB
}

// dbReport is everything measured on one database.
type dbReport struct {
	db                   string
	phase                time.Duration
	serverCore, loadCore int
	rows                 []comparison
	ummReady, peerReady  time.Duration // start to first ready, on a migrated database
	ummIdle, peerIdle    int64         // RSS in KiB
	ummPeak, peerPeak    int64
	login                loginMeasure
}

// problem says why r is not a measurement to compare, or "" when it is one.
func problem(r result) string {
	switch {
	case r.Failures > 0 && r.Requests == 0:
		return r.FirstErr
	case r.Failures > 0:
		return fmt.Sprintf("%d of %d requests failed, first: %s", r.Failures, r.Failures+r.Requests, r.FirstErr)
	case r.Requests == 0 && r.Unfinished != "":
		return "timed out: no request completed within the phase, still waiting for " + r.Unfinished
	case r.Requests == 0:
		return "no request completed"
	case r.Requests < minRequests:
		return fmt.Sprintf("only %d requests completed in %s, too few for a rate", r.Requests, r.Duration.Round(time.Millisecond))
	}
	return ""
}

// verdict is the ratio UMM/peer of two rates, or why there is none.
func verdict(umm, peer result) string {
	var why []string
	if p := problem(umm); p != "" {
		why = append(why, "UMM failed: "+p)
	}
	if p := problem(peer); p != "" {
		why = append(why, "peer failed: "+p)
	}
	if len(why) > 0 {
		return cell(strings.Join(why, "; "), 240)
	}
	return fmt.Sprintf("%.2fx", umm.rate()/peer.rate())
}

// cell makes text safe for one Markdown table cell and at most limit bytes long.
func cell(text string, limit int) string {
	text = strings.NewReplacer("|", "/", "\n", " ", "\r", " ").Replace(text)
	if len(text) > limit {
		text = text[:limit] + "…"
	}
	return text
}

func rateText(r float64) string {
	if r < 100 {
		return fmt.Sprintf("%.1f/s", r)
	}
	return fmt.Sprintf("%.0f/s", r)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }

func mb(kib int64) string { return fmt.Sprintf("%.1f MB", float64(kib)/1024) }

// plainRatio is a/b for figures measured once each (start time, memory), or why there is none.
func plainRatio(a, b float64) string {
	if a <= 0 || b <= 0 {
		return "not measured"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

// maxReferenceDrift is how far apart the pure-hash rates before and after the login phase may be (the
// larger over the smaller) for their mean to be a reference: beyond it the core's speed changed during
// the measurement (another load, frequency scaling).
const maxReferenceDrift = 1.25

// loginCells are the reference and ratio cells of the password-login row. Logins cannot outrun the
// pure hash they compute on the same core, so a ratio above 1 means the reference was disturbed (the
// machine was busy while it ran), and so does a reference that moved between before and after: either
// is flagged instead of printed as a result.
func loginCells(l loginMeasure) (reference, ratio string) {
	if l.argonBefore <= 0 || l.argonAfter <= 0 {
		return "not measured", "no reference"
	}
	ref := (l.argonBefore + l.argonAfter) / 2
	reference = fmt.Sprintf("%s (before %s, after %s)", rateText(ref), rateText(l.argonBefore), rateText(l.argonAfter))
	if p := problem(l.logins); p != "" {
		return reference, cell("UMM failed: "+p, 240)
	}
	r := l.logins.rate() / ref
	if drift := max(l.argonBefore, l.argonAfter) / min(l.argonBefore, l.argonAfter); drift > maxReferenceDrift {
		return "invalid reference: " + reference, fmt.Sprintf("flagged: the pure hash rate moved by %.0f%% between before and after, so the core's speed changed during the phase; rerun on a quiet machine", (drift-1)*100)
	}
	if r > 1 {
		return "invalid reference: " + reference, fmt.Sprintf("flagged: logins ran at %.2fx the pure hash on the same core, which is impossible, so the reference was disturbed; rerun on a quiet machine", r)
	}
	return reference, fmt.Sprintf("%.2fx", r)
}

// render prints the report of one database as Markdown tables.
func render(r dbReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n## %s (phase %s, server on core %d, load on core %d)\n\n", r.db, r.phase, r.serverCore, r.loadCore)
	b.WriteString("| measure | UMM | Hydra | UMM/Hydra | UMM p50 / p99 | Hydra p50 / p99 | UMM CPU ms/req | Hydra CPU ms/req | failed UMM / Hydra |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, c := range r.rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s / %s | %s / %s | %.3f | %.3f | %d / %d |\n", c.name,
			rateText(c.umm.rate()), rateText(c.peer.rate()), verdict(c.umm, c.peer),
			ms(c.umm.P50), ms(c.umm.P99), ms(c.peer.P50), ms(c.peer.P99),
			c.umm.cpuPerReq(), c.peer.cpuPerReq(), c.umm.Failures, c.peer.Failures)
		for _, n := range []struct{ who, note string }{{"UMM", c.umm.Note}, {"Hydra", c.peer.Note}} {
			if n.note != "" {
				fmt.Fprintf(&b, "|  ↳ %s | %s |||||||\n", n.who, cell(n.note, 200))
			}
		}
	}
	b.WriteString("\n| measure | UMM | Hydra | UMM/Hydra |\n|---|---|---|---|\n")
	fmt.Fprintf(&b, "| start to first ready (restart, migrated DB) | %s | %s | %s |\n", ms(r.ummReady), ms(r.peerReady), plainRatio(float64(r.ummReady), float64(r.peerReady)))
	fmt.Fprintf(&b, "| idle RSS | %s | %s | %s |\n", mb(r.ummIdle), mb(r.peerIdle), plainRatio(float64(r.ummIdle), float64(r.peerIdle)))
	fmt.Fprintf(&b, "| peak RSS under load | %s | %s | %s |\n", mb(r.ummPeak), mb(r.peerPeak), plainRatio(float64(r.ummPeak), float64(r.peerPeak)))

	l := r.login
	reference, ratio := loginCells(l)
	b.WriteString("\n| password logins (UMM, c=8, argon2id m=19456 KiB t=2 p=1) | pure argon2id on the server core | logins / pure hash | UMM peak RSS during logins |\n|---|---|---|---|\n")
	fmt.Fprintf(&b, "| %s (p50 %s, p99 %s, failed %d) | %s | %s | %s |\n", rateText(l.logins.rate()), ms(l.logins.P50), ms(l.logins.P99),
		l.logins.Failures, reference, ratio, mb(l.peakRSS))
	return b.String()
}
