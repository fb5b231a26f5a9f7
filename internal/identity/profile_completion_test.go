package identity

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestAskProfile(t *testing.T) {
	t.Parallel()
	schema := config.ProfileSchema{
		Fields: []config.ProfileField{{Name: "company"}, {Name: "terms", Type: "boolean"}},
		Progressive: []config.ProgressiveField{{Field: "phone_number", AfterSignIns: 3}, {Field: "company", AfterSignIns: 1},
			{Field: "nickname", AfterSignIns: 2}},
	}
	user := func(signIns int, skips map[string]int, attrs, claims map[string]any) store.User {
		return store.User{SignIns: signIns, ProfileSkips: skips, Profile: store.Profile{Attributes: attrs, Claims: claims}}
	}
	tests := []struct {
		name     string
		u        store.User
		required []string
		want     ProfileAsk
	}{
		{"nothing is asked before the first progressive field is due", user(0, nil, nil, nil), nil, ProfileAsk{}},
		{"a client's missing field is asked at once", user(0, nil, nil, nil), []string{"company"},
			ProfileAsk{Required: []string{"company"}}},
		{"a field the user has is not asked", user(5, nil, map[string]any{"company": "Acme"}, map[string]any{"phone_number": "+4930123456", "nickname": "a"}),
			[]string{"company"}, ProfileAsk{}},
		{"an empty text and an unticked box count as missing", user(0, nil, map[string]any{"company": "", "terms": false}, nil),
			[]string{"company", "terms"}, ProfileAsk{Required: []string{"company", "terms"}}},
		{"progressive fields become due at their sign-in count", user(2, nil, nil, nil), nil,
			ProfileAsk{Progressive: []string{"company", "nickname"}}},
		{"the 3rd sign-in asks for phone_number", user(3, nil, map[string]any{"company": "Acme"}, map[string]any{"nickname": "a"}), nil,
			ProfileAsk{Progressive: []string{"phone_number"}}},
		{"a field both required and progressive is required", user(3, nil, nil, map[string]any{"nickname": "a", "phone_number": "+4930123456"}),
			[]string{"company"}, ProfileAsk{Required: []string{"company"}}},
		{"a skip puts the field off for after_sign_ins more sign-ins", user(5, map[string]int{"phone_number": 3},
			map[string]any{"company": "Acme"}, map[string]any{"nickname": "a"}), nil, ProfileAsk{}},
		{"a skipped field is asked again after_sign_ins sign-ins later", user(6, map[string]int{"phone_number": 3},
			map[string]any{"company": "Acme"}, map[string]any{"nickname": "a"}), nil, ProfileAsk{Progressive: []string{"phone_number"}}},
		{"a skip does not excuse a client-required field", user(4, map[string]int{"phone_number": 3},
			map[string]any{"company": "Acme"}, map[string]any{"nickname": "a"}), []string{"phone_number"},
			ProfileAsk{Required: []string{"phone_number"}}},
		{"unknown and address fields are never asked", user(0, nil, nil, nil), []string{"fax", "address", "company", "company"},
			ProfileAsk{Required: []string{"company"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AskProfile(schema, tt.u, tt.required); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("AskProfile = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCompletionFieldsAndValidation(t *testing.T) {
	t.Parallel()
	fields := CompletionFields(testSchema, ProfileAsk{Required: []string{"company", "address"}, Progressive: []string{"phone_number", "fax"}})
	var names []string
	for _, f := range fields {
		names = append(names, f.Name)
		if f.Required != (f.Name == "company") {
			t.Errorf("%s: required %v; want only the client's field required", f.Name, f.Required)
		}
	}
	if !slices.Equal(names, []string{"company", "phone_number"}) || fields[1].InputType != "tel" || fields[0].Label["de"] != "Firma" {
		t.Fatalf("fields = %+v", fields)
	}

	t.Run("every asked field must be given", func(t *testing.T) {
		_, errs := ValidateProfile(testSchema, PurposeCompletion, map[string]any{"company": "", "newsletter": "", "phone_number": "+4930123456"}, testNow)
		if len(errs) != 2 || errs[0] != (FieldError{Field: "company", Code: CodeRequired}) || errs[1].Field != "newsletter" {
			t.Fatalf("errs = %v, want company and newsletter required", errs)
		}
	})
	t.Run("fields not editable by the user can be completed, and limits still apply", func(t *testing.T) {
		got, errs := ValidateProfile(testSchema, PurposeCompletion, map[string]any{"seats": "7", "hired": "2020-01-02"}, testNow)
		if errs != nil || got["seats"] != int64(7) {
			t.Fatalf("got %v, %v", got, errs)
		}
		if _, errs := ValidateProfile(testSchema, PurposeCompletion, map[string]any{"company": "x"}, testNow); len(errs) != 1 || errs[0].Code != CodeTooShort {
			t.Fatalf("errs = %v, want too_short", errs)
		}
	})
	t.Run("required fields that are not asked are not demanded", func(t *testing.T) {
		if _, errs := ValidateProfile(testSchema, PurposeCompletion, map[string]any{"plan": "pro"}, testNow); errs != nil {
			t.Fatalf("errs = %v", errs)
		}
	})
}

func TestSkipProfile(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tid := storetest.Tenant(t, db)
		s, _ := newService(t, db, testSecurity())
		u := createUser(t, s, tid, NewUser{Email: "ada@example.com"})
		for range 3 {
			if err := db.CountSignIn(ctx, tid, u.ID); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.SkipProfile(ctx, tid, u.ID, []string{"phone_number", "company"}); err != nil {
			t.Fatal(err)
		}
		got, _ := db.GetUser(ctx, tid, u.ID)
		if want := map[string]int{"phone_number": 3, "company": 3}; !reflect.DeepEqual(got.ProfileSkips, want) {
			t.Fatalf("skips = %v, want %v", got.ProfileSkips, want)
		}
		evs := eventsOf(t, db, tid, "profile.skipped")
		if len(evs) != 1 || evs[0].Subject != u.ID || !reflect.DeepEqual(evs[0].Data["fields"], []any{"company", "phone_number"}) {
			t.Fatalf("events = %+v", evs)
		}
		if err := s.SkipProfile(ctx, tid, "nobody", []string{"company"}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("skip for an unknown user = %v, want ErrNotFound", err)
		}
		if n := len(eventsOf(t, db, tid, "profile.skipped")); n != 1 {
			t.Fatalf("%d profile.skipped events after a refused skip, want 1", n)
		}
	})
}
