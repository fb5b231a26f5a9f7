package identity

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/store"
)

// Progressive profiling (docs/DESIGN.md, "Completing a profile at sign-in"): after a sign-in and before
// consent, the sign-in pages ask for the fields a client requires and the user lacks, and for the fields
// of the tenant's profile.progressive that are due.

// ProfileAsk is what a sign-in asks a user for before a client gets tokens.
type ProfileAsk struct {
	// Required are the client's required_profile_fields the user lacks: they cannot be skipped.
	Required []string
	// Progressive are the fields of profile.progressive that are due: they may be skipped.
	Progressive []string
}

// Empty reports whether nothing is asked.
func (a ProfileAsk) Empty() bool { return len(a.Required) == 0 && len(a.Progressive) == 0 }

// Fields lists every asked field, the required ones first.
func (a ProfileAsk) Fields() []string { return slices.Concat(a.Required, a.Progressive) }

// AskProfile decides what a sign-in of u to a client requiring clientRequired asks for. A required field
// is asked while the user lacks it. A progressive field is asked while the user lacks it and has signed in
// at least after_sign_ins times; a skip (SkipProfile) puts it off for another after_sign_ins sign-ins (a
// field skipped at the 3rd sign-in with after_sign_ins 3 is asked again at the 6th). A field that is both
// is required. Fields the page cannot ask for (the address claim, a name the schema no longer knows) are
// left out. Lacking a value means: no value, an empty text, or an unticked box.
func AskProfile(schema config.ProfileSchema, u store.User, clientRequired []string) ProfileAsk {
	var a ProfileAsk
	for _, name := range clientRequired {
		if askable(schema, name) && lacks(u, name) && !slices.Contains(a.Required, name) {
			a.Required = append(a.Required, name)
		}
	}
	for _, g := range schema.Progressive {
		if slices.Contains(a.Required, g.Field) || !askable(schema, g.Field) || !lacks(u, g.Field) {
			continue
		}
		if g.AfterSignIns < 1 || u.SignIns < g.AfterSignIns {
			continue
		}
		if at, skipped := u.ProfileSkips[g.Field]; skipped && u.SignIns < at+g.AfterSignIns {
			continue
		}
		a.Progressive = append(a.Progressive, g.Field)
	}
	return a
}

// askable reports whether the complete-profile page can ask for name: a standard claim or custom field
// with a single input.
func askable(schema config.ProfileSchema, name string) bool {
	if !schema.Knows(name) {
		return false
	}
	f, _ := fieldFor(schema, PurposeCompletion, name)
	return f.TypeOf() != config.FieldAddress
}

// lacks reports whether u has no value for the profile field name.
func lacks(u store.User, name string) bool {
	switch name {
	case "given_name":
		return u.GivenName == ""
	case "family_name":
		return u.FamilyName == ""
	}
	m := u.Profile.Attributes
	if _, standard := config.StandardClaims[name]; standard {
		m = u.Profile.Claims
	}
	v, ok := m[name]
	return !ok || v == nil || v == "" || v == false
}

// CompletionFields are the inputs of the complete-profile page for ask, in the order of ask.Fields: the
// client-required ones required, the progressive ones optional (left empty, they are skipped).
func CompletionFields(schema config.ProfileSchema, ask ProfileAsk) []FormField {
	names := ask.Fields()
	out := make([]FormField, 0, len(names))
	for _, name := range names {
		if !askable(schema, name) {
			continue
		}
		f, _ := fieldFor(schema, PurposeCompletion, name)
		ff := formField(f)
		ff.Required = slices.Contains(ask.Required, name)
		out = append(out, ff)
	}
	return out
}

// SkipProfile records that the user put off the progressive fields (at their current sign-in count) with
// a profile.skipped event, in one transaction.
func (s *Service) SkipProfile(ctx context.Context, tenantID, userID string, fields []string) error {
	if len(fields) == 0 {
		return nil
	}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		u, err := tx.GetUser(ctx, tenantID, userID)
		if err != nil {
			return err
		}
		skips := maps.Clone(u.ProfileSkips)
		if skips == nil {
			skips = map[string]int{}
		}
		for _, f := range fields {
			skips[f] = u.SignIns
		}
		if err := tx.SetProfileSkips(ctx, tenantID, userID, skips); err != nil {
			return err
		}
		sorted := slices.Clone(fields)
		sort.Strings(sorted)
		return tx.AppendEvent(ctx, at(events.ProfileSkipped(tenantID, userID, sorted, u.SignIns), s.now()))
	})
	if err != nil {
		return fmt.Errorf("skip profile fields: %w", err)
	}
	return nil
}
