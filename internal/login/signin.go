package login

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/risk"
	"github.com/umm-project/umm/internal/session"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// Every way of signing in ends in one of three calls, so the MFA policy, step-up and the risk engine are
// applied in one place whatever proved the first factor:
//   - firstFactorDone: a user proved a first factor (a password, a passkey, a code sent by email or SMS);
//   - secondFactorDone: the user of an MFA flow proved a second factor (or a stronger one, for step-up);
//   - stepUpDone: the browser's signed-in user proved more on a live session (a factor enrolled at sign-in).

// mfaFlowTTL is how long the second-factor page waits after the first factor.
const mfaFlowTTL = 10 * time.Minute

// recentSignIn is how recent a sign-in must be to remove a factor or change recovery codes.
const recentSignIn = 5 * time.Minute

// mfaState is the Data of an MFA flow row.
type mfaState struct {
	Methods   []string `json:"methods"`        // what the first step proved
	At        int64    `json:"at"`             // when
	Want      string   `json:"want,omitempty"` // the acr asked for ("2" or "phr"); empty: policy's "2"
	Essential bool     `json:"essential,omitempty"`
	Reason    string   `json:"reason,omitempty"`  // why the second factor is asked, in an operator's words
	SessionID string   `json:"session,omitempty"` // step-up of this live session instead of a new one
	Policy    string   `json:"policy,omitempty"`  // the MFA policy that applied (which factors count)
	Via       string   `json:"via,omitempty"`     // the upstream connection of the first step, if any
}

// effectivePolicy is the MFA policy for a sign-in to client (zero Client: no client, the account pages):
// the client's own when it has one, else the tenant's.
func effectivePolicy(t store.Tenant, client store.Client) string {
	if client.MFAPolicy != "" {
		return client.MFAPolicy
	}
	return t.Settings.MFA.PolicyOr()
}

// requestedACR is the class lr asks for (the strongest of its acr_values that UMM supports, or the
// essential value of its claims request) and whether it is essential. Empty when it asks for none.
func requestedACR(lr *store.LoginRequest) (acr string, essential bool) {
	if lr == nil {
		return "", false
	}
	for _, v := range lr.Params.ACRValues {
		if session.ACRRank(v) > session.ACRRank(acr) {
			acr = v
		}
	}
	return acr, lr.Params.ACREssential
}

// usableFactors are u's confirmed factors the tenant allows, plus the verified address when email is
// allowed and the policy lets it serve as a second factor of a user who has no other.
func (p *Pages) usableFactors(ctx context.Context, t store.Tenant, policy string, u store.User) ([]store.Factor, error) {
	all, err := p.db.ListFactors(ctx, t.ID, u.ID)
	if err != nil {
		return nil, err
	}
	var out []store.Factor
	for _, f := range all {
		if f.Confirmed() && t.Settings.MFA.Allows(f.Kind) {
			out = append(out, f)
		}
	}
	if len(out) == 0 && u.EmailVerified && t.Settings.MFA.Allows(config.FactorEmail) &&
		(policy == config.MFARequired || policy == config.MFAAdaptive) {
		out = append(out, store.Factor{TenantID: t.ID, UserID: u.ID, Kind: store.FactorEmail, ConfirmedAt: time.Unix(1, 0)})
	}
	return out, nil
}

// signals are what the first step tells the risk engine besides the request.
type signals struct {
	breached bool // the password used is in the breached list
}

// firstFactorDone goes on after u proved a first factor with methods: straight into a session when
// nothing more is needed, else to the second-factor page (or blocked when the risk is high).
func (p *Pages) firstFactorDone(w http.ResponseWriter, r *http.Request, t store.Tenant, lr *store.LoginRequest, u store.User, methods ...string) {
	p.firstFactorDoneWith(w, r, t, lr, u, signals{}, methods...)
}

// firstFactorDoneVia is firstFactorDone for a sign-in through upstream connection via: the session's
// login.succeeded event names it, also when a second factor comes first.
func (p *Pages) firstFactorDoneVia(w http.ResponseWriter, r *http.Request, t store.Tenant, lr *store.LoginRequest, u store.User,
	via string, methods ...string) {
	p.firstFactorDoneWith(w, r.WithContext(session.WithVia(r.Context(), via)), t, lr, u, signals{}, methods...)
}

// firstFactorDoneWith is firstFactorDone with the first step's risk signals.
func (p *Pages) firstFactorDoneWith(w http.ResponseWriter, r *http.Request, t store.Tenant, lr *store.LoginRequest, u store.User,
	sig signals, methods ...string) {
	ctx := r.Context()
	now := p.now()
	proven := session.Factors(now, methods...)
	var client store.Client
	if lr != nil {
		c, err := p.requestClient(ctx, t, *lr)
		if errors.Is(err, store.ErrNotFound) {
			p.clientGone(w, r, t, *lr)
			return
		}
		if err != nil {
			p.serverError(w, r, t, err)
			return
		}
		client = c
	}
	d, err := p.decide(ctx, r, t, client, lr, u, proven, sig)
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	switch {
	case d.blocked:
		p.blocked(w, r, t, lr, u, d)
	case d.second && d.enrol:
		// Nothing to prove yet: sign in with the first factor, then set a second one up before the
		// request completes (the session's acr stays 1 until then, so nothing relies on it).
		p.startSessionFor(w, r, t, lr, u, proven, false, d.riskEvent(t, u, r, events.RiskChallenged), true)
	case d.second:
		p.startMFA(w, r, t, lr, u, methods, now, d, "")
	default:
		p.startSession(w, r, t, lr, u, proven, false, d.riskEvent(t, u, r, events.RiskAllowed))
	}
}

// needsEnrolment reports whether u has no second factor that could answer d (so one must be set up
// first): under required or adaptive policies only, and never for an essential or phishing-resistant
// class, which a new authenticator app cannot reach.
func (p *Pages) needsEnrolment(ctx context.Context, t store.Tenant, u store.User, d decision) (bool, error) {
	if d.essential || d.want == session.ACRPhishingResistant || (d.policy != config.MFARequired && d.policy != config.MFAAdaptive) {
		return false, nil
	}
	fs, err := p.usableFactors(ctx, t, d.policy, u)
	return len(fs) == 0, err
}

// decision is what a sign-in needs after the steps proven so far.
type decision struct {
	second    bool   // a second factor (or a stronger one) is needed
	blocked   bool   // the sign-in is refused (high risk or a deny list)
	want      string // the class asked for
	essential bool
	reason    string // why, in an operator's words
	score     int
	risk      *riskAssessment // nil when the risk was not assessed
	policy    string          // the MFA policy that applied
	enrol     bool            // second, but the user has no factor yet: set one up
}

// riskEvent is the event of the risk decision, or nil when the risk was not assessed.
func (d decision) riskEvent(t store.Tenant, u store.User, r *http.Request, outcome string) *store.Event {
	if d.risk == nil {
		return nil
	}
	e := d.risk.event(t, u, r, outcome)
	return &e
}

// decide applies the risk, the request's acr and the MFA policy to a new sign-in by u that proved proven.
// Every sign-in is scored when the server has a risk engine; the score decides under the adaptive
// policy, and an address on the deny list is refused under every policy.
func (p *Pages) decide(ctx context.Context, r *http.Request, t store.Tenant, client store.Client, lr *store.LoginRequest,
	u store.User, proven store.SessionFactors, sig signals) (d decision, err error) {
	policy := effectivePolicy(t, client)
	d.policy = policy
	device := p.deviceID(r, t.ID)
	if p.risk != nil || policy == config.MFAAdaptive {
		a, err := p.assessRisk(ctx, r, t, u, device, sig)
		if err != nil {
			return d, err
		}
		d.risk, d.score = &a, a.Score
		if a.Has(risk.DenyList) || (policy == config.MFAAdaptive && a.Level == risk.High) {
			d.blocked, d.reason = true, a.Explain()
			return d, nil
		}
	}
	_, have := session.Assurance(proven)
	d.want, d.essential = requestedACR(lr)
	if d.want != "" && !session.Satisfies(have, d.want) {
		reach, err := p.canReach(ctx, t, policy, u, d.want)
		if err != nil {
			return d, err
		}
		// A voluntary class the user's factors cannot reach is met as far as they allow (the acr claim
		// says what was reached); an essential one goes to the page, which ends the request unmet.
		if reach || d.essential {
			d.second, d.reason = true, "acr "+d.want+" requested"
			return d, nil
		}
	}
	if session.ACRRank(have) >= session.ACRRank(session.ACRTwoFactors) {
		return d, nil // a passkey with user verification is two factors already
	}
	remembered, err := p.rememberedForMFA(ctx, t, u, device)
	if err != nil {
		return d, err
	}
	defer func() {
		if d.second && err == nil {
			d.enrol, err = p.needsEnrolment(ctx, t, u, d)
		}
	}()
	switch policy {
	case config.MFAOptional:
		factors, err := p.usableFactors(ctx, t, policy, u)
		if err != nil {
			return d, err
		}
		d.second = len(factors) > 0 && !remembered
		d.reason = "policy optional: the user turned on a second factor"
	case config.MFARequired:
		d.second, d.reason = !remembered, "policy required"
	case config.MFAAdaptive:
		// A device the user never completed a sign-in on is asked whatever it scored: a low score there
		// means only that nothing else looked wrong (or that the address is allow-listed).
		if d.risk.Level == risk.Medium || !d.risk.known {
			d.second, d.reason = !remembered, d.risk.Explain()
		}
	}
	return d, nil
}

// rememberedForMFA reports whether this browser (device id, "" for none) skips u's second factor.
func (p *Pages) rememberedForMFA(ctx context.Context, t store.Tenant, u store.User, device string) (bool, error) {
	if device == "" {
		return false, nil
	}
	return p.db.DeviceSkipsMFA(ctx, t.ID, keys.HashToken(device), u.ID, p.now())
}

// startMFA stores the MFA flow of u (who proved methods at at) and sends the browser to the
// second-factor page. sessionID names the live session it steps up, if any.
func (p *Pages) startMFA(w http.ResponseWriter, r *http.Request, t store.Tenant, lr *store.LoginRequest, u store.User,
	methods []string, at time.Time, d decision, sessionID string) {
	ctx := r.Context()
	now := p.now()
	data, _ := json.Marshal(mfaState{Methods: methods, At: at.Unix(), Want: d.want, Essential: d.essential, Reason: d.reason,
		SessionID: sessionID, Policy: d.policy, Via: session.ViaFrom(ctx)})
	lrID, _ := requestRef(lr)
	f := store.Flow{TenantID: t.ID, ID: keys.NewID(), Kind: store.FlowMFA, State: store.FlowPending, UserID: u.ID,
		Email: u.Email, BrowserHash: p.sessions.BrowserHash(w, r, t.ID), LoginRequestID: lrID, CreatedAt: now,
		ExpiresAt: now.Add(mfaFlowTTL), Data: string(data)}
	err := p.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateFlow(ctx, f); err != nil {
			return err
		}
		want := d.want
		if want == "" {
			want = session.ACRTwoFactors
		}
		if e := d.riskEvent(t, u, r, events.RiskChallenged); e != nil {
			if err := tx.AppendEvent(ctx, *e); err != nil {
				return err
			}
		}
		return tx.AppendEvent(ctx, events.MFAChallenged(t.ID, u.ID, web.ClientIP(r), d.reason, want))
	})
	if err != nil {
		p.serverError(w, r, t, fmt.Errorf("start mfa: %w", err))
		return
	}
	seeOther(w, mfaPath(t, f.ID))
}

// mfaPath is the second-factor page of flow id.
func mfaPath(t store.Tenant, flowID string) string {
	return tenantPath(t) + "/login/mfa?flow=" + url.QueryEscape(flowID)
}

// blocked answers a refused sign-in with a neutral message and records why.
func (p *Pages) blocked(w http.ResponseWriter, r *http.Request, t store.Tenant, lr *store.LoginRequest, u store.User, d decision) {
	ctx := r.Context()
	err := p.db.InTx(ctx, func(tx *store.Tx) error {
		if e := d.riskEvent(t, u, r, events.RiskDenied); e != nil {
			if err := tx.AppendEvent(ctx, *e); err != nil {
				return err
			}
		}
		return tx.AppendEvent(ctx, events.LoginBlocked(t.ID, u.ID, web.ClientIP(r), d.score, d.reason))
	})
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	p.metrics.Login("blocked")
	kind := ""
	if lr != nil {
		kind = lr.Kind
	}
	p.message(w, r, t, http.StatusForbidden, "mfa.blocked.title", "mfa.blocked.text", startAgainLinks(t, kind)...)
}

// startSession signs u in on this browser with what was proven: the browser becomes (or stays) a known
// device of the account, "Remember this device" is recorded when asked for, and lr completes (or goes to
// the profile or consent page), all in the session's own transaction.
func (p *Pages) startSession(w http.ResponseWriter, r *http.Request, t store.Tenant, lr *store.LoginRequest, u store.User,
	proven store.SessionFactors, remember bool, riskEvent *store.Event) {
	p.startSessionWith(w, r, t, lr, u, proven, remember, riskEvent, false, nil)
}

// startSessionFor is startSession; with enrol the request does not complete and the browser goes to the
// setup of a second factor instead.
func (p *Pages) startSessionFor(w http.ResponseWriter, r *http.Request, t store.Tenant, lr *store.LoginRequest, u store.User,
	proven store.SessionFactors, remember bool, riskEvent *store.Event, enrol bool) {
	p.startSessionWith(w, r, t, lr, u, proven, remember, riskEvent, enrol, nil)
}

// startSessionWith is startSessionFor with before (may be nil) run first in the session's transaction.
func (p *Pages) startSessionWith(w http.ResponseWriter, r *http.Request, t store.Tenant, lr *store.LoginRequest, u store.User,
	proven store.SessionFactors, remember bool, riskEvent *store.Event, enrol bool, before func(tx *store.Tx) error) {
	ctx := r.Context()
	next := stepDone
	returning := u.SignIns > 0 // signed in before: a new browser is worth telling about
	if lr != nil {
		u.SignIns++ // this sign-in, counted with the session below
		var ok bool
		if next, ok = p.checkNext(w, r, t, *lr, u); !ok {
			return
		}
	}
	ip := web.ClientIP(r)
	device := p.setDeviceCookie(w, r, t.ID)
	now := p.now()
	inTx := func(tx *store.Tx, s store.Session) error {
		// A known device is a browser that completed a sign-in with every factor asked for: one that has
		// yet to set up its second factor becomes one when the setup steps the session up.
		var isNew bool
		var err error
		if enrol {
			known, err := tx.IsKnownDevice(ctx, t.ID, keys.HashToken(device), u.ID, now)
			if err != nil {
				return err
			}
			isNew = !known
		} else if isNew, err = identity.RememberDevice(ctx, tx, t.ID, u.ID, device, r.UserAgent(), ip, now, now.Add(p.deviceTTL)); err != nil {
			return err
		}
		if isNew && returning && t.Settings.Login.NotifiesNewDevice() {
			if err := p.noticeNewDevice(ctx, tx, r, t, u, now); err != nil {
				return err
			}
		}
		if err := p.rememberForMFA(ctx, tx, t, u, device, remember, now); err != nil {
			return err
		}
		if riskEvent != nil {
			if err := tx.AppendEvent(ctx, *riskEvent); err != nil {
				return err
			}
		}
		if err := p.recordRisk(ctx, tx, r, t, u); err != nil {
			return err
		}
		if lr != nil && next == stepDone && !enrol {
			return completeRequest(ctx, tx, *lr, s, grantedScopes(*lr), ip)
		}
		return nil
	}
	if _, err := p.sessions.StartProven(ctx, w, r, t, u.ID, proven, before, inTx); err != nil {
		if errors.Is(err, errFlowUsed) || errors.Is(err, identity.ErrInvalidCode) {
			p.proofGone(w, r, t, err)
			return
		}
		if lr != nil && errors.Is(err, store.ErrConflict) {
			// Completed meanwhile (a second tab or a double submit): nothing was written; carry on.
			seeOther(w, continuePath(t, *lr))
			return
		}
		p.serverError(w, r, t, fmt.Errorf("start session: %w", err))
		return
	}
	p.metrics.Login("success")
	if enrol {
		lrID, _ := requestRef(lr)
		seeOther(w, mfaSetupPath(t, lrID))
		return
	}
	if lr == nil {
		seeOther(w, accountPath(t))
		return
	}
	seeOther(w, next.path(t, *lr))
}

// rememberForMFA lets the device skip the second factor for the tenant's remember_device_days when the
// user ticked "Remember this device".
func (p *Pages) rememberForMFA(ctx context.Context, tx *store.Tx, t store.Tenant, u store.User, device string, remember bool, now time.Time) error {
	days := t.Settings.MFA.RememberDays()
	if !remember || days == 0 {
		return nil
	}
	until := now.Add(time.Duration(days) * 24 * time.Hour)
	if err := tx.RememberDeviceMFA(ctx, t.ID, keys.HashToken(device), u.ID, until); err != nil {
		return err
	}
	return tx.AppendEvent(ctx, events.MFADeviceTrusted(t.ID, u.ID, days))
}

// secondFactorDone finishes MFA flow f after its user proved methods: the flow is used up, and the
// session starts (or the live session it steps up grows) with every factor proven.
func (p *Pages) secondFactorDone(w http.ResponseWriter, r *http.Request, t store.Tenant, f store.Flow, u store.User, remember bool, methods ...string) {
	p.secondFactorTaking(w, r, t, f, u, remember, nil, methods...)
}

// secondFactorTaking is secondFactorDone with take (may be nil) run in the same transaction: it uses up
// what proved the factor (an authenticator app's time step), so the proof and the sign-in commit
// together.
func (p *Pages) secondFactorTaking(w http.ResponseWriter, r *http.Request, t store.Tenant, f store.Flow, u store.User, remember bool,
	take func(tx *store.Tx) error, methods ...string) {
	ctx := r.Context()
	now := p.now()
	var st mfaState
	_ = json.Unmarshal([]byte(f.Data), &st)
	if st.Via != "" {
		ctx = session.WithVia(ctx, st.Via)
		r = r.WithContext(ctx)
	}
	proven := session.Merge(session.Factors(time.Unix(st.At, 0), st.Methods...), session.Factors(now, methods...))
	// The flow is used up, with its event, in the transaction that starts (or steps up) the session: one
	// commit, and a double submit finds the flow used and starts nothing.
	useFlow := func(tx *store.Tx) error {
		if err := tx.SetFlowState(ctx, t.ID, f.ID, store.FlowPending, store.FlowDone, now); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return fmt.Errorf("%w: %w", errFlowUsed, err)
			}
			return err
		}
		if take != nil {
			if err := take(tx); err != nil {
				return err
			}
		}
		return tx.AppendEvent(ctx, events.MFASucceeded(t.ID, u.ID, web.ClientIP(r), methods[0]))
	}
	var lr *store.LoginRequest
	if f.LoginRequestID != "" {
		l, err := p.db.GetLoginRequest(ctx, t.ID, f.LoginRequestID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			p.serverError(w, r, t, err)
			return
		}
		if err == nil {
			lr = &l
		}
	}
	// A step-up adds this factor to what the browser's session proved already (its password).
	var stepUp *store.Session
	if st.SessionID != "" {
		s, ok, err := p.sessions.Current(ctx, r, t)
		if err != nil {
			p.serverError(w, r, t, err)
			return
		}
		if ok && s.ID == st.SessionID && s.UserID == u.ID {
			stepUp = &s
		}
	}
	if st.Essential {
		reached := proven
		if stepUp != nil {
			reached = session.Merge(stepUp.Factors, proven)
		}
		if _, acr := session.Assurance(reached); !session.Satisfies(acr, st.Want) {
			if err := p.db.InTx(ctx, useFlow); err != nil {
				p.flowFailed(w, r, t, f, err)
				return
			}
			p.unmet(w, r, t, lr)
			return
		}
	}
	if stepUp != nil {
		p.stepUpDone(w, r, t, lr, *stepUp, remember, proven, useFlow)
		return
	}
	p.startSessionWith(w, r, t, lr, u, proven, remember, nil, false, useFlow)
}

// errFlowUsed: the flow a step would use up was used meanwhile (a double submit, a second tab).
var errFlowUsed = errors.New("login: the flow was used meanwhile")

// proofGone answers a second factor whose proof was used meanwhile by another request: the flow (a
// double submit) or the authenticator app's code (replayed at the same moment).
func (p *Pages) proofGone(w http.ResponseWriter, r *http.Request, t store.Tenant, err error) {
	if errors.Is(err, identity.ErrInvalidCode) {
		p.message(w, r, t, http.StatusUnprocessableEntity, "login.expired.title", "mfa.error.code_wrong", startAgainLinks(t, "")...)
		return
	}
	p.message(w, r, t, http.StatusBadRequest, "login.expired.title", "login.expired.text", startAgainLinks(t, "")...)
}

// flowFailed answers err from a transaction that used up flow f.
func (p *Pages) flowFailed(w http.ResponseWriter, r *http.Request, t store.Tenant, f store.Flow, err error) {
	if errors.Is(err, errFlowUsed) {
		p.flowUsed(w, r, t, f)
		return
	}
	p.serverError(w, r, t, err)
}

// stepUpDone records on live session s that the user proved add, then goes on with lr (nil: the account
// page).
func (p *Pages) stepUpDone(w http.ResponseWriter, r *http.Request, t store.Tenant, lr *store.LoginRequest, s store.Session,
	remember bool, add store.SessionFactors, before ...func(tx *store.Tx) error) {
	ctx := r.Context()
	u, err := p.identity.GetUser(ctx, t.ID, s.UserID)
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	device := p.setDeviceCookie(w, r, t.ID)
	now := p.now()
	s, err = p.sessions.StepUp(ctx, t, s, add, func(tx *store.Tx, s store.Session) error {
		for _, b := range before {
			if err := b(tx); err != nil {
				return err
			}
		}
		if _, err := identity.RememberDevice(ctx, tx, t.ID, u.ID, device, r.UserAgent(), web.ClientIP(r), now, now.Add(p.deviceTTL)); err != nil {
			return err
		}
		return p.rememberForMFA(ctx, tx, t, u, device, remember, now)
	})
	if errors.Is(err, errFlowUsed) || errors.Is(err, identity.ErrInvalidCode) {
		p.proofGone(w, r, t, err)
		return
	}
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	if lr == nil || lr.Status != store.LoginPending {
		if lr != nil {
			seeOther(w, continuePath(t, *lr))
			return
		}
		seeOther(w, accountPath(t))
		return
	}
	p.continueSignedIn(w, r, t, lr, s, u)
}

// unmet ends a request whose essential acr the user's factors cannot reach.
func (p *Pages) unmet(w http.ResponseWriter, r *http.Request, t store.Tenant, lr *store.LoginRequest) {
	if lr == nil {
		seeOther(w, accountPath(t))
		return
	}
	if err := p.db.SetLoginRequestStatus(r.Context(), t.ID, lr.ID, store.LoginPending, store.LoginUnmet); err != nil &&
		!errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrConflict) {
		p.serverError(w, r, t, err)
		return
	}
	seeOther(w, continuePath(t, *lr))
}

// flowUsed answers a second-factor form of a flow that was used up meanwhile.
func (p *Pages) flowUsed(w http.ResponseWriter, r *http.Request, t store.Tenant, f store.Flow) {
	kind := ""
	if f.LoginRequestID != "" {
		kind = store.LoginKindAuthorize
	}
	p.message(w, r, t, http.StatusBadRequest, "login.expired.title", "login.expired.text", startAgainLinks(t, kind)...)
}

// requireRecent reports whether session s signed in within the last 5 minutes; otherwise it sends the
// browser to the re-authentication page, which comes back to back (a path of ours) and returns false.
func (p *Pages) requireRecent(w http.ResponseWriter, r *http.Request, t store.Tenant, s store.Session, back string) bool {
	if p.now().Sub(s.AuthTime) <= recentSignIn {
		return true
	}
	seeOther(w, tenantPath(t)+"/account/reauth?next="+url.QueryEscape(back))
	return false
}

// stepUpNeeded checks the browser's live session s against what lr asks (acr_values, an essential acr)
// and the MFA policy of its client. When the session proved less, the user is sent to the second-factor
// page to step it up (no password again) and it returns true, having answered.
func (p *Pages) stepUpNeeded(w http.ResponseWriter, r *http.Request, t store.Tenant, lr *store.LoginRequest, s store.Session, u store.User) bool {
	ctx := r.Context()
	client, err := p.requestClient(ctx, t, *lr)
	if errors.Is(err, store.ErrNotFound) {
		p.clientGone(w, r, t, *lr)
		return true
	}
	if err != nil {
		p.serverError(w, r, t, err)
		return true
	}
	d := decision{policy: effectivePolicy(t, client)}
	d.want, d.essential = requestedACR(lr)
	reach := false
	if d.want != "" && !session.Satisfies(s.ACR, d.want) {
		if reach, err = p.canReach(ctx, t, d.policy, u, d.want); err != nil {
			p.serverError(w, r, t, err)
			return true
		}
	}
	switch {
	case d.want != "" && !session.Satisfies(s.ACR, d.want) && (reach || d.essential):
		d.second, d.reason = true, "acr "+d.want+" requested"
	case d.policy == config.MFARequired && !session.Satisfies(s.ACR, session.ACRTwoFactors):
		remembered, err := p.rememberedForMFA(ctx, t, u, p.deviceID(r, t.ID))
		if err != nil {
			p.serverError(w, r, t, err)
			return true
		}
		d.second, d.reason = !remembered, "policy required"
	}
	if !d.second {
		return false
	}
	enrol, err := p.needsEnrolment(ctx, t, u, d)
	if err != nil {
		p.serverError(w, r, t, err)
		return true
	}
	if enrol {
		seeOther(w, mfaSetupPath(t, lr.ID))
		return true
	}
	p.startMFA(w, r, t, lr, u, nil, p.now(), d, s.ID)
	return true
}

// reauthenticate answers a request whose max_age the session s outlived: when the user has a factor
// that proves presence on its own (a passkey or an authenticator app), the second-factor page asks for it
// and steps the session up, so no password is needed; otherwise it returns false and the sign-in form asks
// for the password.
func (p *Pages) reauthenticate(w http.ResponseWriter, r *http.Request, t store.Tenant, lr *store.LoginRequest, s store.Session, u store.User) bool {
	ctx := r.Context()
	factors, err := p.db.ListFactors(ctx, t.ID, u.ID)
	if err != nil {
		p.serverError(w, r, t, err)
		return true
	}
	strong := false
	for _, f := range factors {
		if f.Confirmed() && (f.Kind == store.FactorTOTP || f.Kind == store.FactorWebAuthn) && t.Settings.MFA.Allows(f.Kind) {
			strong = true
		}
	}
	if !strong {
		return false
	}
	d := decision{policy: config.MFAOptional, reason: "max_age: sign in again"}
	d.want, d.essential = requestedACR(lr)
	p.startMFA(w, r, t, lr, u, nil, p.now(), d, s.ID)
	return true
}

// canReach reports whether u has a factor that reaches class want: a passkey for "phr", any usable
// second factor for "2".
func (p *Pages) canReach(ctx context.Context, t store.Tenant, policy string, u store.User, want string) (bool, error) {
	fs, err := p.usableFactors(ctx, t, policy, u)
	if err != nil {
		return false, err
	}
	for _, f := range fs {
		if want != session.ACRPhishingResistant || f.Kind == store.FactorWebAuthn {
			return true, nil
		}
	}
	return false, nil
}
