package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/store"
)

// Supported signing algorithms. Every tenant has keys for both.
const (
	RS256 = "RS256"
	ES256 = "ES256"
)

// Algorithms returns the JWS algorithms every tenant has keys for, for discovery documents.
func Algorithms() []string { return []string{RS256, ES256} }

var algorithms = [...]string{RS256, ES256}

// Event types written by the Manager (they match package events' catalogue; keys may not import events).
const (
	eventKeyCreated = "key.created"
	eventKeyRotated = "key.rotated"
	actorSystem     = "system"
)

const (
	// defaultCacheTTL bounds how long a node signs with a key set another node has changed, should the
	// change's invalidation message (Invalidate) be lost.
	defaultCacheTTL = 30 * time.Second
	// sqliteCacheTTL is the bound on SQLite, should a change notice of the umm CLI (another process, whose
	// commits the server learns by polling) be missed; the reload is a cheap local read.
	sqliteCacheTTL = 5 * time.Second
	defaultTick    = time.Minute
	// forcedReloadGap bounds the reloads that tokens with unknown kids can cause (one per tenant per gap).
	forcedReloadGap = time.Second
	// reloadRetry is how long a stale key set keeps serving after a failed reload before the next attempt.
	reloadRetry = 5 * time.Second
)

// ErrInvalidToken wraps every Verify failure caused by the token itself (malformed, algorithm not allowed,
// unknown kid, bad signature), as opposed to a failure to load keys.
var ErrInvalidToken = errors.New("invalid token")

// Manager owns the signing keys of every tenant: it creates them on first use, signs and verifies with a
// per-node cache of parsed keys and JWKS documents, and rotates them. It is safe for concurrent use; several
// nodes may share one database.
type Manager struct {
	db  *store.DB
	kr  *Keyring
	cfg config.Keys
	log *slog.Logger

	now      func() time.Time // clock; tests replace it
	cacheTTL time.Duration    // how long a node trusts its cached key set
	tick     time.Duration    // period of Run

	tenants sync.Map // tenant id -> *tenantCache
}

// NewManager returns a Manager. cfg.RotationInterval 0 disables scheduled rotation; cfg.RetainRetired 0
// takes the default (config.Default).
func NewManager(db *store.DB, kr *Keyring, cfg config.Keys, log *slog.Logger) *Manager {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.RetainRetired <= 0 {
		cfg.RetainRetired = config.Default().Keys.RetainRetired
	}
	ttl := defaultCacheTTL
	if db.Kind() == "sqlite" {
		ttl = sqliteCacheTTL
	}
	return &Manager{db: db, kr: kr, cfg: cfg, log: log, now: time.Now, cacheTTL: ttl, tick: defaultTick}
}

// SetCacheTTL changes how long this node trusts its cached key sets (call it before use). Tests set it far
// beyond what they wait, to prove that invalidation messages, not the TTL, carry changes between nodes.
func (m *Manager) SetCacheTTL(d time.Duration) {
	if d > 0 {
		m.cacheTTL = d
	}
}

// tenantCache is one tenant's cached key set. Readers load set without locking; mu serializes reloads.
type tenantCache struct {
	mu         sync.Mutex
	set        atomic.Pointer[keySet]
	lastForced time.Time // under mu
}

// keySet is an immutable snapshot of a tenant's published keys.
type keySet struct {
	loaded  time.Time
	invalid bool                   // set by a local rotation: reload before use
	current map[string]*signingKey // alg -> the key that signs
	byKid   map[string]*signingKey // every published key: current, next, retired within retention
	jwks    []byte
}

// signingKey is one parsed key. parsed is shared between snapshots for the same kid, so a reload does not
// decrypt again and keeps the signers built so far.
type signingKey struct {
	kid, alg, status string
	created          time.Time
	activated        time.Time
	*parsed
}

type parsed struct {
	pub     crypto.PublicKey
	priv    crypto.Signer                    // nil for retired keys (never opened)
	signers sync.Map                         // typ -> jose.Signer
	cert    atomic.Pointer[x509.Certificate] // the SAML certificate of an RSA key, made on first use
}

func (m *Manager) cache(tenantID string) *tenantCache {
	if tc, ok := m.tenants.Load(tenantID); ok {
		return tc.(*tenantCache)
	}
	tc, _ := m.tenants.LoadOrStore(tenantID, &tenantCache{})
	return tc.(*tenantCache)
}

// keys returns the tenant's key set, from the cache while it is fresh. force reloads it (at most once per
// forcedReloadGap) to learn a kid another node just created.
func (m *Manager) keys(ctx context.Context, tenantID string, force bool) (*keySet, error) {
	tc := m.cache(tenantID)
	s := tc.set.Load()
	now := m.now()
	if s != nil && !force && !s.invalid && now.Sub(s.loaded) < m.cacheTTL {
		return s, nil
	}
	tc.mu.Lock()
	defer tc.mu.Unlock()
	now = m.now()
	cur := tc.set.Load()
	fresh := cur != nil && !cur.invalid && now.Sub(cur.loaded) < m.cacheTTL
	if fresh && (cur != s || !force) {
		return cur, nil // reloaded by another caller while this one waited
	}
	if fresh && force && now.Sub(tc.lastForced) < forcedReloadGap {
		return cur, nil
	}
	if force {
		tc.lastForced = now
	}
	ns, err := m.load(ctx, tenantID, cur, now)
	if err != nil {
		if cur != nil && !cur.invalid && ctx.Err() == nil {
			// Keep serving the last good keys (a retired key published a little longer does no harm) and
			// retry shortly, rather than failing every request while the database is unreachable.
			m.log.WarnContext(ctx, "reload signing keys; serving cached keys", "tenant", tenantID, "err", err)
			stale := *cur
			stale.loaded = now.Add(reloadRetry - m.cacheTTL)
			tc.set.Store(&stale)
			return &stale, nil
		}
		if cur == nil {
			m.tenants.CompareAndDelete(tenantID, tc)
		}
		return nil, err
	}
	tc.set.Store(ns)
	return ns, nil
}

// invalidate makes the next use of the tenant's keys on this node reload them.
func (m *Manager) invalidate(tenantID string) {
	m.updateSnapshot(tenantID, func(c *keySet) { c.invalid = true })
}

// Invalidate handles a cache invalidation message (store.Listen): after store.TopicKeys for a tenant, or
// store.TopicAll, the next use of the keys concerned on this node reloads them. Unlike a local rotation,
// it does not forbid serving the cached keys should that reload fail: they are merely old, not wrong.
func (m *Manager) Invalidate(topic, payload string) {
	switch topic {
	case store.TopicKeys:
		m.expire(payload)
	case store.TopicAll:
		m.tenants.Range(func(k, _ any) bool {
			m.expire(k.(string))
			return true
		})
	}
}

// expire makes the tenant's cached keys stale on this node. It waits for a reload in progress, which may
// have read the keys before the change, and expires what that reload stored.
func (m *Manager) expire(tenantID string) {
	m.updateSnapshot(tenantID, func(c *keySet) { c.loaded = time.Time{} })
}

// updateSnapshot replaces the tenant's cached snapshot (if any) by a copy changed by fn, under the
// tenant's reload lock.
func (m *Manager) updateSnapshot(tenantID string, fn func(*keySet)) {
	v, ok := m.tenants.Load(tenantID)
	if !ok {
		return
	}
	tc := v.(*tenantCache)
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if s := tc.set.Load(); s != nil {
		c := *s
		fn(&c)
		tc.set.Store(&c)
	}
}

// load reads the tenant's keys, creating the missing ones on first use, and parses them.
func (m *Manager) load(ctx context.Context, tenantID string, prev *keySet, now time.Time) (*keySet, error) {
	rows, err := m.db.ListSigningKeys(ctx, tenantID)
	if err != nil {
		return nil, fmt.Errorf("load signing keys of tenant %s: %w", tenantID, err)
	}
	if len(missing(rows)) > 0 {
		if rows, err = m.ensure(ctx, tenantID, rows); err != nil {
			return nil, err
		}
	}
	s, err := m.build(tenantID, rows, prev, now)
	if err != nil {
		return nil, fmt.Errorf("load signing keys of tenant %s: %w", tenantID, err)
	}
	return s, nil
}

// missing lists, per algorithm, the statuses (current, next) that have no key.
func missing(rows []store.SigningKey) []store.SigningKey {
	var out []store.SigningKey
	for _, alg := range algorithms {
		for _, st := range []string{store.KeyStatusCurrent, store.KeyStatusNext} {
			if find(rows, alg, st) == nil {
				out = append(out, store.SigningKey{Alg: alg, Status: st})
			}
		}
	}
	return out
}

func find(rows []store.SigningKey, alg, status string) *store.SigningKey {
	for i := range rows {
		if rows[i].Alg == alg && rows[i].Status == status {
			return &rows[i]
		}
	}
	return nil
}

// ensure creates the tenant's missing current and next keys in one transaction. Keys are generated before
// the transaction (RSA takes a while) and the transaction re-reads the keys under a per-tenant lock, so two
// nodes doing this at once end with one current and one next key per algorithm; the unique indexes on
// (tenant, alg) for current and next keys are the last guard, after which the keys are simply re-read.
func (m *Manager) ensure(ctx context.Context, tenantID string, seen []store.SigningKey) ([]store.SigningKey, error) {
	pool, err := m.generate(missing(seen))
	if err != nil {
		return nil, err
	}
	var rows []store.SigningKey
	err = m.inKeysTx(ctx, tenantID, func(tx *store.Tx, locked []store.SigningKey) error {
		var err error
		rows, err = m.complete(ctx, tx, tenantID, locked, pool, m.now())
		return err
	})
	if errors.Is(err, store.ErrConflict) {
		// Another node won the race past the lock: its keys are the tenant's keys.
		rows, err = m.db.ListSigningKeys(ctx, tenantID)
		if err == nil && len(missing(rows)) > 0 {
			err = errors.New("keys still missing after a concurrent creation")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("create signing keys of tenant %s: %w", tenantID, err)
	}
	return rows, nil
}

// inKeysTx runs fn in a transaction holding the tenant's signing-key lock, with the keys read under it.
func (m *Manager) inKeysTx(ctx context.Context, tenantID string, fn func(tx *store.Tx, rows []store.SigningKey) error) error {
	return m.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.LockSigningKeys(ctx, tenantID); err != nil {
			return err
		}
		rows, err := tx.ListSigningKeys(ctx, tenantID)
		if err != nil {
			return err
		}
		return fn(tx, rows)
	})
}

// complete inserts, inside tx, a current and a next key for every algorithm lacking one (promoting a lone
// next key), using pre-generated keys from pool when it has them. It returns the resulting rows.
func (m *Manager) complete(ctx context.Context, tx *store.Tx, tenantID string, rows []store.SigningKey,
	pool map[string][]*generated, now time.Time) ([]store.SigningKey, error) {
	changed := false
	for _, alg := range algorithms {
		cur, next := find(rows, alg, store.KeyStatusCurrent), find(rows, alg, store.KeyStatusNext)
		if cur == nil && next != nil {
			if err := tx.SetSigningKeyStatus(ctx, tenantID, next.KeyID, store.KeyStatusNext, store.KeyStatusCurrent, now); err != nil {
				return nil, err
			}
			if err := tx.AppendEvent(ctx, keyEvent(eventKeyRotated, tenantID, next.KeyID, alg, store.KeyStatusCurrent, now)); err != nil {
				return nil, err
			}
			cur, next, changed = next, nil, true
		}
		for _, st := range []string{store.KeyStatusCurrent, store.KeyStatusNext} {
			if (st == store.KeyStatusCurrent && cur != nil) || (st == store.KeyStatusNext && next != nil) {
				continue
			}
			g, err := take(pool, alg)
			if err != nil {
				return nil, err
			}
			if err := m.insert(ctx, tx, tenantID, g, st, now); err != nil {
				return nil, err
			}
			changed = true
		}
	}
	if !changed {
		return rows, nil
	}
	return tx.ListSigningKeys(ctx, tenantID)
}

// generated is a fresh key pair, not yet sealed or stored.
type generated struct {
	kid, alg string
	priv     crypto.Signer
	jwk      []byte // public JWK JSON with kid, alg, use
}

func (m *Manager) generate(want []store.SigningKey) (map[string][]*generated, error) {
	pool := map[string][]*generated{}
	for _, w := range want {
		g, err := generateKey(w.Alg)
		if err != nil {
			return nil, err
		}
		pool[w.Alg] = append(pool[w.Alg], g)
	}
	return pool, nil
}

func take(pool map[string][]*generated, alg string) (*generated, error) {
	if gs := pool[alg]; len(gs) > 0 {
		pool[alg] = gs[1:]
		return gs[0], nil
	}
	return generateKey(alg)
}

// generateKey makes an RSA 2048 (RS256) or P-256 (ES256) key whose kid is its RFC 7638 thumbprint.
func generateKey(alg string) (*generated, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case RS256:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return nil, fmt.Errorf("generate signing key: unsupported algorithm %q", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", alg, err)
	}
	jwk := jose.JSONWebKey{Key: priv.Public(), Algorithm: alg, Use: "sig"}
	thumb, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("generate %s key: thumbprint: %w", alg, err)
	}
	jwk.KeyID = base64.RawURLEncoding.EncodeToString(thumb)
	pub, err := jwk.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", alg, err)
	}
	return &generated{kid: jwk.KeyID, alg: alg, priv: priv, jwk: pub}, nil
}

// sealAAD binds a sealed private key to its tenant and kid.
func sealAAD(tenantID, kid string) []byte { return []byte(tenantID + "|" + kid) }

func (m *Manager) insert(ctx context.Context, tx *store.Tx, tenantID string, g *generated, status string, now time.Time) error {
	der, err := x509.MarshalPKCS8PrivateKey(g.priv)
	if err != nil {
		return fmt.Errorf("encode %s key: %w", g.alg, err)
	}
	sealed, err := m.kr.Seal(der, sealAAD(tenantID, g.kid))
	if err != nil {
		return fmt.Errorf("seal %s key: %w", g.alg, err)
	}
	k := store.SigningKey{TenantID: tenantID, KeyID: g.kid, Alg: g.alg, Status: status, PrivateEnc: sealed,
		PublicJWK: string(g.jwk), CreatedAt: now}
	if status == store.KeyStatusCurrent {
		k.ActivatedAt = now
	}
	if err := tx.InsertSigningKey(ctx, k); err != nil {
		return err
	}
	return tx.AppendEvent(ctx, keyEvent(eventKeyCreated, tenantID, g.kid, g.alg, status, now))
}

func keyEvent(typ, tenantID, kid, alg, status string, now time.Time) store.Event {
	return store.Event{TenantID: tenantID, Type: typ, Actor: actorSystem, Subject: kid,
		Data: map[string]any{"alg": alg, "status": status}, CreatedAt: now}
}

var statusRank = map[string]int{store.KeyStatusCurrent: 0, store.KeyStatusNext: 1, store.KeyStatusRetired: 2}

// build parses rows into a key set: the published keys are current, next and the retired keys within
// retention. Keys already parsed in prev are reused.
func (m *Manager) build(tenantID string, rows []store.SigningKey, prev *keySet, now time.Time) (*keySet, error) {
	rows = append([]store.SigningKey(nil), rows...)
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.Alg != b.Alg {
			return a.Alg > b.Alg // RS256 first: the default ID token algorithm
		}
		if statusRank[a.Status] != statusRank[b.Status] {
			return statusRank[a.Status] < statusRank[b.Status]
		}
		return a.CreatedAt.After(b.CreatedAt)
	})
	s := &keySet{loaded: now, current: map[string]*signingKey{}, byKid: map[string]*signingKey{}}
	retainFrom := now.Add(-m.cfg.RetainRetired.D())
	var published []json.RawMessage
	for _, r := range rows {
		if _, ok := statusRank[r.Status]; !ok {
			return nil, fmt.Errorf("key %s has unknown status %q", r.KeyID, r.Status)
		}
		if r.Status == store.KeyStatusRetired && r.RetiredAt.Before(retainFrom) {
			continue
		}
		var p *parsed
		if prev != nil {
			if old := prev.byKid[r.KeyID]; old != nil && old.alg == r.Alg && (old.priv != nil || r.Status == store.KeyStatusRetired) {
				p = old.parsed
			}
		}
		if p == nil {
			var err error
			if p, err = m.parse(tenantID, r); err != nil {
				return nil, err
			}
		}
		k := &signingKey{kid: r.KeyID, alg: r.Alg, status: r.Status, created: r.CreatedAt, activated: r.ActivatedAt, parsed: p}
		s.byKid[k.kid] = k
		if k.status == store.KeyStatusCurrent {
			s.current[k.alg] = k
		}
		published = append(published, json.RawMessage(r.PublicJWK))
	}
	jwks, err := json.Marshal(struct {
		Keys []json.RawMessage `json:"keys"`
	}{published})
	if err != nil {
		return nil, fmt.Errorf("encode JWKS: %w", err)
	}
	s.jwks = jwks
	return s, nil
}

// parse checks a stored key and opens its private half unless it is retired.
func (m *Manager) parse(tenantID string, r store.SigningKey) (*parsed, error) {
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON([]byte(r.PublicJWK)); err != nil {
		return nil, fmt.Errorf("key %s: public JWK: %w", r.KeyID, err)
	}
	if jwk.KeyID != r.KeyID || jwk.Algorithm != r.Alg || !jwk.IsPublic() {
		return nil, fmt.Errorf("key %s: public JWK does not match its row (kid %q, alg %q)", r.KeyID, jwk.KeyID, jwk.Algorithm)
	}
	if err := checkKeyType(r.Alg, jwk.Key); err != nil {
		return nil, fmt.Errorf("key %s: %w", r.KeyID, err)
	}
	p := &parsed{pub: jwk.Key}
	if r.Status == store.KeyStatusRetired {
		return p, nil
	}
	der, err := m.kr.Open(r.PrivateEnc, sealAAD(tenantID, r.KeyID))
	if err != nil {
		return nil, fmt.Errorf("key %s: private key: %w", r.KeyID, err)
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("key %s: private key: %w", r.KeyID, err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok || checkKeyType(r.Alg, signer.Public()) != nil {
		return nil, fmt.Errorf("key %s: private key is a %T, not an %s key", r.KeyID, priv, r.Alg)
	}
	if !signer.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(jwk.Key) {
		return nil, fmt.Errorf("key %s: private key does not match the published public key", r.KeyID)
	}
	p.priv = signer
	return p, nil
}

func checkKeyType(alg string, pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if alg == RS256 && k.N.BitLen() >= 2048 {
			return nil
		}
	case *ecdsa.PublicKey:
		if alg == ES256 && k.Curve == elliptic.P256() {
			return nil
		}
	}
	return fmt.Errorf("a %T is not a valid %s key", pub, alg)
}

// signer returns the cached jose.Signer of k for typ.
func (k *signingKey) signer(typ string) (jose.Signer, error) {
	if v, ok := k.signers.Load(typ); ok {
		return v.(jose.Signer), nil
	}
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	sg, err := jose.NewSigner(jose.SigningKey{
		Algorithm: jose.SignatureAlgorithm(k.alg),
		Key:       jose.JSONWebKey{Key: k.priv, KeyID: k.kid, Algorithm: k.alg},
	}, opts)
	if err != nil {
		return nil, fmt.Errorf("signer for key %s: %w", k.kid, err)
	}
	v, _ := k.signers.LoadOrStore(typ, sg)
	return v.(jose.Signer), nil
}

// Sign returns a compact JWS of claims signed with the tenant's current key for alg ("RS256" or "ES256"),
// with kid and typ ("JWT", "at+jwt"; "" omits it) in the protected header. claims is marshalled to JSON,
// except []byte and json.RawMessage, which are signed as they are. The tenant's keys are created on first use.
func (m *Manager) Sign(ctx context.Context, tenantID, alg, typ string, claims any) (string, error) {
	if alg != RS256 && alg != ES256 {
		return "", fmt.Errorf("sign: unsupported algorithm %q (want RS256 or ES256)", alg)
	}
	var payload []byte
	switch c := claims.(type) {
	case []byte:
		payload = c
	case json.RawMessage:
		payload = c
	default:
		var err error
		if payload, err = json.Marshal(claims); err != nil {
			return "", fmt.Errorf("sign: encode claims: %w", err)
		}
	}
	s, err := m.keys(ctx, tenantID, false)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	k := s.current[alg]
	if k == nil || k.priv == nil {
		return "", fmt.Errorf("sign: tenant %s has no current %s key", tenantID, alg)
	}
	sg, err := k.signer(typ)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	jws, err := sg.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign with key %s: %w", k.kid, err)
	}
	token, err := jws.CompactSerialize()
	if err != nil {
		return "", fmt.Errorf("sign with key %s: %w", k.kid, err)
	}
	return token, nil
}

// Verify checks a compact JWS signed by one of the tenant's published keys (current, next, or retired
// within retention) with one of algs (default RS256 and ES256; "none" and HMAC algorithms are never
// accepted) and returns its payload and protected header. It checks no claims: expiry, issuer, audience
// and typ are the caller's. Failures caused by the token wrap ErrInvalidToken.
func (m *Manager) Verify(ctx context.Context, tenantID, token string, algs ...string) (payload []byte, header jose.Header, err error) {
	allowed := []jose.SignatureAlgorithm{jose.RS256, jose.ES256}
	if len(algs) > 0 {
		allowed = allowed[:0:0]
		for _, a := range algs {
			if a != RS256 && a != ES256 {
				return nil, jose.Header{}, fmt.Errorf("verify: algorithm %q cannot be allowed (only RS256 and ES256)", a)
			}
			allowed = append(allowed, jose.SignatureAlgorithm(a))
		}
	}
	jws, err := jose.ParseSignedCompact(token, allowed)
	if err != nil {
		return nil, jose.Header{}, fmt.Errorf("verify: %w: %w", ErrInvalidToken, err)
	}
	if len(jws.Signatures) != 1 {
		return nil, jose.Header{}, fmt.Errorf("verify: %w: %d signatures", ErrInvalidToken, len(jws.Signatures))
	}
	h := jws.Signatures[0].Protected
	if h.KeyID == "" {
		return nil, jose.Header{}, fmt.Errorf("verify: %w: no kid in the header", ErrInvalidToken)
	}
	s, err := m.keys(ctx, tenantID, false)
	if err != nil {
		return nil, jose.Header{}, fmt.Errorf("verify: %w", err)
	}
	k := s.byKid[h.KeyID]
	if k == nil {
		// Perhaps a key another node created moments ago: reload once.
		if s, err = m.keys(ctx, tenantID, true); err != nil {
			return nil, jose.Header{}, fmt.Errorf("verify: %w", err)
		}
		if k = s.byKid[h.KeyID]; k == nil {
			return nil, jose.Header{}, fmt.Errorf("verify: %w: kid %q is not a published key of tenant %s", ErrInvalidToken, h.KeyID, tenantID)
		}
	}
	if h.Algorithm != k.alg {
		return nil, jose.Header{}, fmt.Errorf("verify: %w: alg %s does not match key %s (%s)", ErrInvalidToken, h.Algorithm, k.kid, k.alg)
	}
	payload, err = jws.Verify(k.pub)
	if err != nil {
		return nil, jose.Header{}, fmt.Errorf("verify: %w: %w", ErrInvalidToken, err)
	}
	return payload, h, nil
}

// TypAccessToken is the typ header of UMM's access tokens (RFC 9068 §2.1).
const TypAccessToken = "at+jwt"

// IsAccessToken reports whether a verified token's header marks it an access token: typ "at+jwt" or its
// full media type "application/at+jwt" (RFC 9068 §4), in any case.
func IsAccessToken(h jose.Header) bool {
	typ, _ := h.ExtraHeaders[jose.HeaderType].(string)
	return strings.EqualFold(typ, TypAccessToken) || strings.EqualFold(typ, "application/"+TypAccessToken)
}

// JWKS returns the tenant's JWK Set document (RFC 7517 §5): current, next and recently retired keys of
// both algorithms with kid, use and alg. The bytes are cached per node for a short time and shared: do not
// modify them.
func (m *Manager) JWKS(ctx context.Context, tenantID string) ([]byte, error) {
	s, err := m.keys(ctx, tenantID, false)
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	return s.jwks, nil
}

// Rotate makes each algorithm's next key current, retires the current one (it keeps verifying and stays in
// the JWKS for keys.retain_retired), publishes a new next key and deletes keys retired longer than the
// retention, in one transaction. Other nodes pick the change up when its invalidation message reaches
// them (Invalidate), at the latest within their cache TTL; next keys are published a whole rotation ahead
// so every verifier already knows the new current key.
func (m *Manager) Rotate(ctx context.Context, tenantID string) error {
	_, err := m.rotate(ctx, tenantID, time.Time{}, actorSystem)
	return err
}

// RotateBy is Rotate asked for by actor (an operator or a management client), whom the key.rotated
// events name.
func (m *Manager) RotateBy(ctx context.Context, tenantID, actor string) error {
	_, err := m.rotate(ctx, tenantID, time.Time{}, actor)
	return err
}

// rotate rotates the tenant's keys; with dueBefore set, only if a current key was activated before it,
// checked again under the lock so that nodes running the schedule together rotate once.
func (m *Manager) rotate(ctx context.Context, tenantID string, dueBefore time.Time, actor string) (bool, error) {
	pool, err := m.generate([]store.SigningKey{{Alg: RS256}, {Alg: ES256}})
	if err != nil {
		return false, fmt.Errorf("rotate keys of tenant %s: %w", tenantID, err)
	}
	rotated := false
	err = m.inKeysTx(ctx, tenantID, func(tx *store.Tx, rows []store.SigningKey) error {
		now := m.now()
		if !dueBefore.IsZero() && !due(rows, dueBefore) {
			return nil
		}
		rows, err := m.complete(ctx, tx, tenantID, rows, pool, now)
		if err != nil {
			return err
		}
		for _, alg := range algorithms {
			cur, next := find(rows, alg, store.KeyStatusCurrent), find(rows, alg, store.KeyStatusNext)
			if err := tx.SetSigningKeyStatus(ctx, tenantID, cur.KeyID, store.KeyStatusCurrent, store.KeyStatusRetired, now); err != nil {
				return err
			}
			if err := tx.SetSigningKeyStatus(ctx, tenantID, next.KeyID, store.KeyStatusNext, store.KeyStatusCurrent, now); err != nil {
				return err
			}
			e := keyEvent(eventKeyRotated, tenantID, next.KeyID, alg, store.KeyStatusCurrent, now)
			e.Actor = actor
			if err := tx.AppendEvent(ctx, e); err != nil {
				return err
			}
			g, err := take(pool, alg)
			if err != nil {
				return err
			}
			if err := m.insert(ctx, tx, tenantID, g, store.KeyStatusNext, now); err != nil {
				return err
			}
		}
		if _, err := tx.DeleteRetiredSigningKeys(ctx, tenantID, now.Add(-m.cfg.RetainRetired.D())); err != nil {
			return err
		}
		rotated = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("rotate keys of tenant %s: %w", tenantID, err)
	}
	if rotated {
		m.invalidate(tenantID)
		m.log.InfoContext(ctx, "signing keys rotated", "tenant", tenantID)
	}
	return rotated, nil
}

func due(rows []store.SigningKey, before time.Time) bool {
	for _, r := range rows {
		if r.Status == store.KeyStatusCurrent && r.ActivatedAt.Before(before) {
			return true
		}
	}
	return false
}

// Run rotates, every minute, the keys of each tenant whose current key is older than keys.rotation_interval
// (never when it is 0) and deletes keys retired longer than keys.retain_retired, until ctx ends. Every node
// may run it: a rotation re-checks under the tenant's lock, so it happens once.
func (m *Manager) Run(ctx context.Context) {
	t := time.NewTicker(m.tick)
	defer t.Stop()
	for {
		m.runOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (m *Manager) runOnce(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	now := m.now()
	if n, err := m.db.PruneRetiredSigningKeys(ctx, now.Add(-m.cfg.RetainRetired.D())); err != nil {
		m.log.ErrorContext(ctx, "prune retired signing keys", "err", err)
	} else if n > 0 {
		m.log.InfoContext(ctx, "pruned retired signing keys", "count", n)
	}
	interval := m.cfg.RotationInterval.D()
	if interval <= 0 {
		return
	}
	cutoff := now.Add(-interval)
	tenants, err := m.db.SigningKeysDue(ctx, cutoff)
	if err != nil {
		m.log.ErrorContext(ctx, "scheduled key rotation", "err", err)
		return
	}
	for _, tenantID := range tenants {
		if ctx.Err() != nil {
			return
		}
		if _, err := m.rotate(ctx, tenantID, cutoff, actorSystem); err != nil {
			m.log.ErrorContext(ctx, "scheduled key rotation", "tenant", tenantID, "err", err)
		}
	}
}
