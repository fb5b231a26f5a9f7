package risk

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	maxminddb "github.com/oschwald/maxminddb-golang/v2"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/store"
)

// Level is what a score means for the sign-in.
type Level string

// The levels, from the policy's thresholds.
const (
	Low    Level = "low"    // go on
	Medium Level = "medium" // ask a second factor
	High   Level = "high"   // refuse
)

// Reason codes: one per signal.
const (
	NewDevice        = "new_device"
	NewNetwork       = "new_network"
	NewCountry       = "new_country"
	ImpossibleTravel = "impossible_travel"
	IPFailures       = "ip_failures"
	BreachedPassword = "breached_password"
	Dormant          = "dormant"
	DenyList         = "deny_list"
	AllowList        = "allow_list"
)

// Attempt is one sign-in attempt as the login page knows it.
type Attempt struct {
	TenantID string
	// UserID is the account signing in; empty when no account has the identifier given.
	UserID string
	// IP is the client address (as web's client IP gives it).
	IP string
	// DeviceKnown: the browser carries a known-device cookie of this user.
	DeviceKnown bool
	// BreachedPassword: the password given is on the breached-password list.
	BreachedPassword bool
	// LastSignIn is the account's previous sign-in; zero when it never signed in.
	LastSignIn time.Time
	// Now is the time of the attempt; zero: time.Now().
	Now time.Time
	// Policy is the tenant's effective policy; its zero fields take the engine's global ones (Merge), so
	// the zero value is the global policy.
	Policy config.RiskPolicy
}

// Reason is one signal that fired.
type Reason struct {
	Code   string // NewDevice, NewNetwork, ...
	Detail string // "DE", "14", "870 km in 5 min", "203.0.113.0/24"; may be empty
}

// Assessment is the score of an attempt and why.
type Assessment struct {
	Score   int // 0..100
	Level   Level
	Reasons []Reason
	// Country is the ISO code of the address's country; empty without a geo database or when unknown.
	Country string

	// failureSpan is the time from the first to the last of the address's counted failures, for Explain;
	// failureSpanSet says it was measured.
	failureSpan    time.Duration
	failureSpanSet bool
}

// Codes returns the reasons' codes, for the event.
func (a Assessment) Codes() []string {
	out := make([]string, len(a.Reasons))
	for i, r := range a.Reasons {
		out[i] = r.Code
	}
	return out
}

// Event is the risk.assessed event of the assessment, with decision (events.RiskAllowed,
// RiskChallenged or RiskDenied): what the sign-in did with it.
func (a Assessment) Event(tenantID, userID, ip, decision string) store.Event {
	return events.RiskAssessed(tenantID, userID, ip, a.Score, string(a.Level), decision, a.Codes(), a.Explain())
}

// Has reports whether the signal code fired.
func (a Assessment) Has(code string) bool {
	for _, r := range a.Reasons {
		if r.Code == code {
			return true
		}
	}
	return false
}

// Explain says in plain words why the attempt scored as it did, the reasons joined by "; ", for example
// "new device; new country: DE; 14 failed attempts from this IP in 10 min". The words are English: they
// are for the audit log and operators, not for the person signing in. Empty when nothing fired.
func (a Assessment) Explain() string {
	var b strings.Builder
	for i, r := range a.Reasons {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(a.explain(r))
	}
	return b.String()
}

func (a Assessment) explain(r Reason) string {
	with := func(words string) string {
		if r.Detail == "" {
			return words
		}
		return words + ": " + r.Detail
	}
	switch r.Code {
	case NewDevice:
		return "new device"
	case NewNetwork:
		return with("new network")
	case NewCountry:
		return with("new country")
	case ImpossibleTravel:
		return with("impossible travel")
	case IPFailures:
		s := r.Detail + " failed attempts from this IP"
		switch {
		case !a.failureSpanSet:
		case a.failureSpan < time.Minute:
			s += " within a minute"
		default:
			s += " in " + span(a.failureSpan)
		}
		return s
	case BreachedPassword:
		return "breached password"
	case Dormant:
		if r.Detail == "" {
			return "dormant account"
		}
		return "dormant account: no sign-in for " + r.Detail
	case DenyList:
		return with("address on the deny list")
	case AllowList:
		return with("address on the allow list")
	}
	return with(strings.ReplaceAll(r.Code, "_", " "))
}

// span writes a duration the way people say it: "45 s", "5 min", "3 h 20 min", "120 days".
func span(d time.Duration) string {
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + " s"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + " min"
	case d < 48*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return strconv.Itoa(h) + " h"
		}
		return strconv.Itoa(h) + " h " + strconv.Itoa(m) + " min"
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + " days"
}

// Engine scores sign-in attempts. It is safe for concurrent use.
type Engine struct {
	db     *store.DB
	policy config.RiskPolicy
	// allow and deny are the global policy's lists, parsed once.
	allow, deny []netip.Prefix
	geo         *maxminddb.Reader
}

// New builds the engine from the risk section and opens the geo database when one is configured.
func New(cfg config.Risk, db *store.DB) (*Engine, error) {
	e := &Engine{db: db, policy: cfg.RiskPolicy}
	var err error
	if e.allow, err = parseList(cfg.Allow); err != nil {
		return nil, fmt.Errorf("risk.allow: %w", err)
	}
	if e.deny, err = parseList(cfg.Deny); err != nil {
		return nil, fmt.Errorf("risk.deny: %w", err)
	}
	if cfg.GeoIPDB != "" {
		if e.geo, err = openGeo(cfg.GeoIPDB); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// Close releases the geo database.
func (e *Engine) Close() error {
	if e.geo == nil {
		return nil
	}
	return e.geo.Close()
}

// Policy is the global policy, for laying a tenant's override over it (config.RiskPolicy.Merge).
func (e *Engine) Policy() config.RiskPolicy { return e.policy }

// HasGeo reports whether a geo database is open (the new_country and impossible_travel signals).
func (e *Engine) HasGeo() bool { return e.geo != nil }

// Evaluate scores the attempt. It runs two indexed statements (the address's failure count and the
// account's network history) and one lookup in the memory-mapped geo database; an address on the deny or
// allow list is answered without the database.
func (e *Engine) Evaluate(ctx context.Context, at Attempt) (Assessment, error) {
	addr, err := netip.ParseAddr(at.IP)
	if err != nil {
		return Assessment{}, fmt.Errorf("risk: client address %q: %w", at.IP, err)
	}
	addr = addr.Unmap().WithZone("")
	if at.Now.IsZero() {
		at.Now = time.Now()
	}
	p := e.policy
	if !zeroPolicy(at.Policy) {
		p = p.Merge(at.Policy)
	}
	pl := e.lookup(addr)
	// Deny wins over allow, and both over every signal: they are the operator's word.
	if a, ok := e.denied(p, addr); ok {
		a.Country = pl.country
		return a, nil
	}
	var a Assessment
	a.Country = pl.country
	if cidr, ok := e.inList(p.Allow, e.allow, e.policy.Allow, addr); ok {
		a.Score, a.Level, a.Reasons = 0, Low, []Reason{{Code: AllowList, Detail: cidr}}
		return a, nil
	}

	a.Reasons = make([]Reason, 0, 4)
	w := p.Weights
	score := 0
	fire := func(code, detail string, weight int) {
		a.Reasons = append(a.Reasons, Reason{Code: code, Detail: detail})
		score += weight
	}

	// An attempt on an unknown account reads a history too (it finds none): the same statements run
	// whether or not the account exists, and the browser counts as unknown as on a first sign-in, so
	// neither the time taken nor the level tells the page whether the account exists.
	if !at.DeviceKnown || at.UserID == "" {
		fire(NewDevice, "", w.NewDevice)
	}
	network := networkOf(addr)
	h, err := e.db.NetworkHistory(ctx, at.TenantID, at.UserID, network, pl.country)
	if err != nil {
		return Assessment{}, fmt.Errorf("risk: %w", err)
	}
	// A first sign-in has nothing to compare with: the network and the country are new to an account
	// that has none, and saying so would only double the new-device signal.
	if h.Any {
		if !h.KnownNetwork {
			fire(NewNetwork, network, w.NewNetwork)
		}
		if pl.country != "" && !h.KnownCountry {
			fire(NewCountry, pl.country, w.NewCountry)
		}
		if pl.hasLocation && h.Last.HasLocation {
			if detail, ok := impossibleTravel(h.Last.Latitude, h.Last.Longitude, h.Last.LastSeenAt, pl.lat, pl.lon, at.Now); ok {
				fire(ImpossibleTravel, detail, w.ImpossibleTravel)
			}
		}
	}

	th, err := e.db.GetThrottle(ctx, at.TenantID, failureKey(addr))
	if err != nil {
		return Assessment{}, fmt.Errorf("risk: %w", err)
	}
	// The count goes on while failures keep coming less than a window apart; one whose last failure is
	// a whole window old has ended (RecordFailure starts it again).
	if th.Failures >= p.IPFailuresThreshold && at.Now.Sub(th.UpdatedAt) < p.IPFailuresWindow.D() {
		fire(IPFailures, strconv.Itoa(th.Failures), w.IPFailures)
		a.failureSpan, a.failureSpanSet = th.UpdatedAt.Sub(th.WindowStart), true
	}

	if at.BreachedPassword {
		fire(BreachedPassword, "", w.BreachedPassword)
	}
	if at.LastSignIn.IsZero() && h.Any {
		at.LastSignIn = h.Last.LastSeenAt // the newest network row is the last recorded sign-in
	}
	if !at.LastSignIn.IsZero() && at.Now.Sub(at.LastSignIn) >= p.DormantAfter.D() {
		fire(Dormant, span(at.Now.Sub(at.LastSignIn)), w.Dormant)
	}

	a.Score = min(score, 100)
	a.Level = level(a.Score, p.Thresholds)
	return a, nil
}

// Denied reports whether ip is on the deny list of policy (a tenant's policy laid over the global one, as
// in Attempt.Policy), and returns the assessment Evaluate would give it. It reads nothing but the lists,
// so the sign-in page can refuse a denied address before it checks any password: the answer then cannot
// tell a right password from a wrong one. An address that does not parse is not denied (Evaluate reports
// it).
func (e *Engine) Denied(ip string, policy config.RiskPolicy) (Assessment, bool) {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return Assessment{}, false
	}
	p := e.policy
	if !zeroPolicy(policy) {
		p = p.Merge(policy)
	}
	return e.denied(p, addr.Unmap().WithZone(""))
}

// denied is Denied for a parsed address under the merged policy p. A denied address is high whatever its
// score (the deny_list weight, 100 unless the operator wants another figure in the audit log).
func (e *Engine) denied(p config.RiskPolicy, addr netip.Addr) (Assessment, bool) {
	cidr, ok := e.inList(p.Deny, e.deny, e.policy.Deny, addr)
	if !ok {
		return Assessment{}, false
	}
	return Assessment{Score: min(max(p.Weights.DenyList, 0), 100), Level: High, Reasons: []Reason{{Code: DenyList, Detail: cidr}}}, true
}

func level(score int, t config.RiskThresholds) Level {
	switch {
	case score >= t.High:
		return High
	case score >= t.Medium:
		return Medium
	}
	return Low
}

// zeroPolicy reports whether p sets nothing, without reflection (Evaluate is on every sign-in's path).
func zeroPolicy(p config.RiskPolicy) bool {
	return p.Weights == (config.RiskWeights{}) && p.Thresholds == (config.RiskThresholds{}) && len(p.Allow) == 0 &&
		len(p.Deny) == 0 && p.IPFailuresWindow == 0 && p.IPFailuresThreshold == 0 && p.DormantAfter == 0
}
