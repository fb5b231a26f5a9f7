package identity

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func ptr[T any](v T) *T { return &v }

// testSchema has a field of every type with limits.
var testSchema = config.ProfileSchema{Fields: []config.ProfileField{
	{Name: "company", Type: "string", Required: true, Registration: true, Editable: true, MinLength: ptr(2), MaxLength: ptr(10),
		Label: map[string]string{"en": "Company", "de": "Firma"}, Claim: &config.FieldClaim{Scope: "profile"}},
	{Name: "code", Type: "string", Pattern: `[A-Z]{3}`, Editable: true},
	{Name: "work_email", Type: "email"},
	{Name: "mobile", Type: "phone", Registration: true},
	{Name: "hired", Type: "date"},
	{Name: "terms", Type: "boolean", Required: true, Registration: true},
	{Name: "newsletter", Type: "boolean", Registration: true, Editable: true},
	{Name: "seats", Type: "integer", Min: ptr[int64](1), Max: ptr[int64](100)},
	{Name: "plan", Type: "select", Options: []string{"free", "pro"}, Editable: true},
	{Name: "homepage", Type: "url"},
	{Name: "given_name", Required: true, MaxLength: ptr(20)},
	{Name: "phone_number", Editable: true},
}}

var testNow = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

func TestValidateProfileRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		purpose   string
		field     string
		value     any
		wantCode  string
		wantParam string
	}{
		{"a field the tenant does not have", PurposeAdmin, "fax", "1", CodeUnknownField, ""},
		{"a registration field the form does not show", PurposeRegistration, "seats", "3", CodeUnknownField, ""},
		{"a field the user may not edit", PurposeEditable, "terms", "on", CodeUnknownField, ""},
		{"email, the identifier, as a profile value", PurposeAdmin, "email", "a@example.com", CodeUnknownField, ""},
		{"a value too short", PurposeAdmin, "company", "A", CodeTooShort, "2"},
		{"a value too long", PurposeAdmin, "company", "Acme Corporation", CodeTooLong, "10"},
		{"a standard claim beyond its default length", PurposeAdmin, "nickname", strings.Repeat("a", 256), CodeTooLong, "255"},
		{"a control character", PurposeAdmin, "company", "Ac\x00me", CodeNotText, ""},
		{"a list where text is expected", PurposeAdmin, "company", []any{"a"}, CodeNotText, ""},
		{"a pattern mismatch", PurposeAdmin, "code", "ABCD", CodePattern, ""},
		{"a pattern matching only part of the value", PurposeAdmin, "code", "xABCx", CodePattern, ""},
		{"an address without a domain", PurposeAdmin, "work_email", "ada@", CodeNotEmail, ""},
		{"an address with a display name", PurposeAdmin, "work_email", "Ada <ada@example.com>", CodeNotEmail, ""},
		{"a phone number without the country code", PurposeAdmin, "mobile", "030 123456", CodeNotPhone, ""},
		{"a phone number with letters", PurposeAdmin, "phone_number", "+49 30 CALLME", CodeNotPhone, ""},
		{"a phone number of 16 digits", PurposeAdmin, "phone_number", "+1234567890123456", CodeNotPhone, ""},
		{"a date in another format", PurposeAdmin, "hired", "07.12.2026", CodeNotDate, ""},
		{"a date that does not exist", PurposeAdmin, "hired", "2026-02-30", CodeNotDate, ""},
		{"a birthdate in the future", PurposeAdmin, "birthdate", "2026-12-08", CodeDateInFuture, ""},
		{"a boolean that is neither", PurposeAdmin, "newsletter", "maybe", CodeNotBoolean, ""},
		{"a number for a boolean", PurposeAdmin, "newsletter", 1, CodeNotBoolean, ""},
		{"an integer with a fraction", PurposeAdmin, "seats", "1.5", CodeNotInteger, ""},
		{"a fraction from YAML", PurposeAdmin, "seats", 2.5, CodeNotInteger, ""},
		{"a boolean for an integer", PurposeAdmin, "seats", true, CodeNotInteger, ""},
		{"an integer below min", PurposeAdmin, "seats", "0", CodeTooSmall, "1"},
		{"an integer above max", PurposeAdmin, "seats", 101, CodeTooLarge, "100"},
		{"a value not among the options", PurposeAdmin, "plan", "Pro", CodeNotOption, "free, pro"},
		{"a relative URL", PurposeAdmin, "homepage", "/me", CodeNotURL, ""},
		{"a javascript URL", PurposeAdmin, "website", "javascript:alert(1)", CodeNotURL, ""},
		{"an ftp URL", PurposeAdmin, "picture", "ftp://example.com/a.png", CodeNotURL, ""},
		{"a time zone that does not exist", PurposeAdmin, "zoneinfo", "Mars/Olympus", CodeNotTimezone, ""},
		{"a locale that is no language tag", PurposeAdmin, "locale", "english please", CodeNotLocale, ""},
		{"an address as plain text", PurposeAdmin, "address", "Main St 1", CodeNotAddress, ""},
		{"an address with an unknown member", PurposeAdmin, "address", map[string]any{"street": "Main St 1"}, CodeNotAddress, ""},
		{"an address member that is not text", PurposeAdmin, "address", map[string]any{"locality": true}, CodeNotAddress, ""},
		{"a given name over the schema's limit", PurposeAdmin, "given_name", "Bartholomew-Maximilian", CodeTooLong, "20"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			t.Parallel()
			values := map[string]any{tt.field: tt.value}
			if tt.purpose == PurposeRegistration { // the required ones, so only the tested problem remains
				values["company"], values["terms"], values["given_name"] = "Acme", "on", "Ada"
			}
			if tt.purpose == PurposeEditable {
				values["company"], values["given_name"] = "Acme", "Ada"
			}
			got, errs := ValidateProfile(testSchema, tt.purpose, values, testNow)
			want := FieldErrors{{Field: tt.field, Code: tt.wantCode, Param: tt.wantParam}}
			if got != nil || !reflect.DeepEqual(errs, want) {
				t.Fatalf("ValidateProfile(%s=%#v) = %v, %#v; want %#v", tt.field, tt.value, got, errs, want)
			}
			if errs.Error() == "" || errs[0].Error() == tt.field+": " {
				t.Errorf("no message for code %s", tt.wantCode)
			}
		})
	}
}

func TestValidateProfileRequired(t *testing.T) {
	t.Parallel()
	t.Run("registration reports every missing required field, a required box unticked included", func(t *testing.T) {
		_, errs := ValidateProfile(testSchema, PurposeRegistration, map[string]any{"company": "  ", "newsletter": "on"}, testNow)
		want := FieldErrors{{Field: "company", Code: CodeRequired}, {Field: "given_name", Code: CodeRequired}, {Field: "terms", Code: CodeRequired}}
		if !reflect.DeepEqual(errs, want) {
			t.Fatalf("errs = %#v, want %#v", errs, want)
		}
	})
	t.Run("a required box ticked false is still missing", func(t *testing.T) {
		_, errs := ValidateProfile(testSchema, PurposeRegistration, map[string]any{"company": "Acme", "given_name": "Ada", "terms": "false"}, testNow)
		if want := (FieldErrors{{Field: "terms", Code: CodeRequired}}); !reflect.DeepEqual(errs, want) {
			t.Fatalf("errs = %#v, want %#v", errs, want)
		}
	})
	t.Run("the profile page enforces required fields it shows, not registration-only ones", func(t *testing.T) {
		_, errs := ValidateProfile(testSchema, PurposeEditable, map[string]any{"given_name": "Ada"}, testNow)
		if want := (FieldErrors{{Field: "company", Code: CodeRequired}}); !reflect.DeepEqual(errs, want) {
			t.Fatalf("errs = %#v, want %#v", errs, want)
		}
	})
	t.Run("an operator may leave required fields empty", func(t *testing.T) {
		got, errs := ValidateProfile(testSchema, PurposeAdmin, map[string]any{"company": ""}, testNow)
		if errs != nil || !reflect.DeepEqual(got, map[string]any{"company": nil}) {
			t.Fatalf("got %#v, %v; want company cleared", got, errs)
		}
	})
}

func TestValidateProfileNormalizes(t *testing.T) {
	t.Parallel()
	in := map[string]any{
		"company": " Acme ", "code": "ABC", "work_email": "ada@example.com", "mobile": "+49 (30) 123-456",
		"hired": "2020-01-31", "newsletter": "on", "terms": true, "seats": "42", "plan": "pro",
		"homepage": "https://acme.example/", "birthdate": "2026-12-07", "zoneinfo": "Europe/Berlin", "locale": "en-us",
		"address.locality": "Berlin", "address.postal_code": 10115, "address.country": "", "nickname": "",
		"picture": "http://img.example/a.png",
	}
	got, errs := ValidateProfile(testSchema, PurposeAdmin, in, testNow)
	if errs != nil {
		t.Fatal(errs)
	}
	want := map[string]any{
		"company": "Acme", "code": "ABC", "work_email": "ada@example.com", "mobile": "+4930123456",
		"hired": "2020-01-31", "newsletter": true, "terms": true, "seats": int64(42), "plan": "pro",
		"homepage": "https://acme.example/", "birthdate": "2026-12-07", "zoneinfo": "Europe/Berlin", "locale": "en-US",
		"address": map[string]string{"locality": "Berlin", "postal_code": "10115"}, "nickname": nil,
		"picture": "http://img.example/a.png",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %#v\nwant %#v", got, want)
	}
	if _, errs := ValidateProfile(testSchema, PurposeAdmin, map[string]any{"seats": int64(100), "newsletter": "off"}, testNow); errs != nil {
		t.Fatalf("limits are inclusive and off is false: %v", errs)
	}
}

func TestFormFields(t *testing.T) {
	t.Parallel()
	names := func(fs []FormField) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.Name)
		}
		return out
	}
	reg := FormFields(testSchema, PurposeRegistration)
	if got, want := names(reg), []string{"email", "password", "given_name", "family_name", "company", "mobile", "terms", "newsletter"}; !slices.Equal(got, want) {
		t.Fatalf("registration fields = %v, want %v", got, want)
	}
	byName := map[string]FormField{}
	for _, f := range reg {
		byName[f.Name] = f
	}
	for _, c := range []struct{ name, input, auto string }{
		{"email", "email", "email"}, {"password", "password", "new-password"}, {"given_name", "text", "given-name"},
		{"family_name", "text", "family-name"}, {"mobile", "tel", "tel"}, {"terms", "checkbox", ""},
	} {
		if f := byName[c.name]; f.InputType != c.input || f.Autocomplete != c.auto {
			t.Errorf("%s: input %q autocomplete %q; want %q %q", c.name, f.InputType, f.Autocomplete, c.input, c.auto)
		}
	}
	if !byName["given_name"].Required || byName["family_name"].Required {
		t.Error("given_name is required by the schema, family_name optional by default")
	}
	if c := byName["company"]; c.Label["de"] != "Firma" || *c.MaxLength != 10 || !c.Required {
		t.Errorf("company = %+v", c)
	}
	edit := FormFields(testSchema, PurposeEditable)
	if got, want := names(edit), []string{"given_name", "family_name", "company", "code", "newsletter", "plan", "phone_number"}; !slices.Equal(got, want) {
		t.Fatalf("editable fields = %v, want %v", got, want)
	}
	if f := edit[5]; f.InputType != "select" || !slices.Equal(f.Options, []string{"free", "pro"}) {
		t.Errorf("plan = %+v", f)
	}
	if f := edit[6]; f.InputType != "tel" || f.Autocomplete != "tel" {
		t.Errorf("phone_number = %+v", f)
	}
	bday := FormFields(config.ProfileSchema{Fields: []config.ProfileField{{Name: "birthdate", Registration: true}}}, PurposeRegistration)
	if f := bday[len(bday)-1]; f.Name != "birthdate" || f.InputType != "date" || f.Autocomplete != "bday" {
		t.Errorf("birthdate = %+v", f)
	}
}

func TestUpdateProfile(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tid := storetest.Tenant(t, db)
		ten, err := db.GetTenant(ctx, tid)
		if err != nil {
			t.Fatal(err)
		}
		ten.Settings.Profile = testSchema
		if err := db.UpdateTenant(ctx, ten); err != nil {
			t.Fatal(err)
		}
		s, clk := newService(t, db, testSecurity())

		t.Run("invalid values at creation create nothing", func(t *testing.T) {
			_, err := s.CreateUser(ctx, tid, NewUser{Email: "bad@example.com", Profile: map[string]any{"seats": "many", "fax": "1"}}, "test")
			var fe FieldErrors
			if !errors.As(err, &fe) || len(fe) != 2 || fe[0].Field != "fax" || fe[1].Code != CodeNotInteger {
				t.Fatalf("err = %v, want unknown fax and not_integer seats", err)
			}
			if _, err := s.FindUserByEmail(ctx, tid, "bad@example.com"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("user created anyway: %v", err)
			}
		})

		u := createUser(t, s, tid, NewUser{Email: "ada@example.com", Profile: map[string]any{
			"given_name": "Ada", "company": "Acme", "seats": 3, "phone_number": "+4930123456"}})
		if u.GivenName != "Ada" || u.Profile.Attributes["company"] != "Acme" || u.Profile.Claims["phone_number"] != "+4930123456" {
			t.Fatalf("created %+v", u)
		}
		stored, _ := db.GetUser(ctx, tid, u.ID)
		if !reflect.DeepEqual(stored.Profile, u.Profile) {
			t.Fatalf("stored %#v, returned %#v", stored.Profile, u.Profile)
		}

		t.Run("a change is written with updated_at and one event naming the fields", func(t *testing.T) {
			clk.Advance(time.Hour)
			got, err := s.UpdateProfile(ctx, tid, u.ID, PurposeAdmin, map[string]any{"company": "Acme Corp", "seats": nil, "family_name": "Lovelace"}, "test")
			if err != nil {
				t.Fatal(err)
			}
			stored, _ := db.GetUser(ctx, tid, u.ID)
			if stored.Profile.Attributes["company"] != "Acme Corp" || stored.Profile.Attributes["seats"] != nil || stored.FamilyName != "Lovelace" {
				t.Fatalf("stored %+v", stored)
			}
			if !stored.UpdatedAt.Equal(clk.Now()) || !got.UpdatedAt.Equal(clk.Now()) {
				t.Fatalf("updated_at = %v, want %v", stored.UpdatedAt, clk.Now())
			}
			evs := eventsOf(t, db, tid, "user.updated")
			if len(evs) != 1 || !containsAll(fmt.Sprint(evs[0].Data["fields"]), "company", "family_name", "seats") {
				t.Fatalf("events = %+v", evs)
			}
		})
		t.Run("the same values again write nothing", func(t *testing.T) {
			before, _ := db.GetUser(ctx, tid, u.ID)
			clk.Advance(time.Hour)
			if _, err := s.UpdateProfile(ctx, tid, u.ID, PurposeAdmin, map[string]any{"company": "Acme Corp"}, "test"); err != nil {
				t.Fatal(err)
			}
			after, _ := db.GetUser(ctx, tid, u.ID)
			if !after.UpdatedAt.Equal(before.UpdatedAt) || len(eventsOf(t, db, tid, "user.updated")) != 1 {
				t.Fatal("an unchanged profile was written")
			}
		})
		t.Run("a new phone number is no longer verified", func(t *testing.T) {
			cur, _ := db.GetUser(ctx, tid, u.ID)
			cur.Profile = cur.Profile.Clone()
			cur.Profile.Claims["phone_number_verified"] = true
			if err := db.UpdateUser(ctx, cur); err != nil {
				t.Fatal(err)
			}
			if _, err := s.UpdateProfile(ctx, tid, u.ID, PurposeAdmin, map[string]any{"phone_number": "+4930999999"}, "test"); err != nil {
				t.Fatal(err)
			}
			after, _ := db.GetUser(ctx, tid, u.ID)
			if _, ok := after.Profile.Claims["phone_number_verified"]; ok || after.Profile.Claims["phone_number"] != "+4930999999" {
				t.Fatalf("claims = %#v", after.Profile.Claims)
			}
		})
		t.Run("a name over the account's limit is refused", func(t *testing.T) {
			long := map[string]any{"family_name": strings.Repeat("ü", 101)} // 101 characters, 202 bytes
			if _, err := s.UpdateProfile(ctx, tid, u.ID, PurposeAdmin, long, "test"); !errors.Is(err, ErrInvalidName) {
				t.Fatalf("err = %v, want ErrInvalidName", err)
			}
		})
		t.Run("invalid values change nothing", func(t *testing.T) {
			before, _ := db.GetUser(ctx, tid, u.ID)
			_, err := s.UpdateProfile(ctx, tid, u.ID, PurposeAdmin, map[string]any{"company": "Acme", "seats": 1000}, "test")
			var fe FieldErrors
			if !errors.As(err, &fe) || len(fe) != 1 || fe[0].Code != CodeTooLarge {
				t.Fatalf("err = %v", err)
			}
			after, _ := db.GetUser(ctx, tid, u.ID)
			if !reflect.DeepEqual(after.Profile, before.Profile) {
				t.Fatal("a refused update changed the profile")
			}
		})
		t.Run("another tenant's user is not found", func(t *testing.T) {
			other := storetest.Tenant(t, db)
			if _, err := s.UpdateProfile(ctx, other, u.ID, PurposeAdmin, map[string]any{"nickname": "x"}, "test"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
		})
	})
}

func containsAll(data string, words ...string) bool {
	for _, w := range words {
		if !strings.Contains(data, w) {
			return false
		}
	}
	return true
}
