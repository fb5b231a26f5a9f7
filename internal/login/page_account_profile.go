package login

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// fieldView is one input of the profile form.
type fieldView struct {
	Name, Label, Type, Autocomplete, InputMode string
	Value                                      string // the stored or the submitted value
	Checked                                    bool   // a checkbox's state
	Required                                   bool
	Options                                    []optionView
	MinLength, MaxLength                       int // 0: none
	Pattern                                    string
	Min, Max                                   string // "": none
	Error                                      string // translated; shown beside the input
}

type optionView struct {
	Value    string
	Selected bool
}

// maxProfileValue bounds what the profile form reads of one value, before validation.
const maxProfileValue = 4096

// profileFields are the inputs of every editable field of schema (identity.FormFields), filled with
// values (the stored ones, or those just submitted) and the errors of a refused submission.
func profileFields(pd web.PageData, schema config.ProfileSchema, values map[string]string, errs map[string]string) []fieldView {
	return fieldViews(pd, identity.FormFields(schema, identity.PurposeEditable), values, errs)
}

// fieldViews are the inputs of fields, filled with values and errs.
func fieldViews(pd web.PageData, fields []identity.FormField, values map[string]string, errs map[string]string) []fieldView {
	var out []fieldView
	for _, f := range fields {
		v := fieldView{Name: f.Name, Label: fieldLabel(pd, f), Type: f.InputType, Autocomplete: f.Autocomplete,
			Required: f.Required, Pattern: f.Pattern, Value: values[f.Name], Error: errs[f.Name]}
		if f.MinLength != nil {
			v.MinLength = *f.MinLength
		}
		if f.MaxLength != nil {
			v.MaxLength = *f.MaxLength
		}
		if f.Min != nil {
			v.Min = strconv.FormatInt(*f.Min, 10)
		}
		if f.Max != nil {
			v.Max = strconv.FormatInt(*f.Max, 10)
		}
		switch f.InputType {
		case "checkbox":
			v.Checked = v.Value == "true" || v.Value == "on"
		case "tel":
			v.InputMode = "tel"
		case "number":
			v.InputMode = "numeric"
		}
		for _, o := range f.Options {
			v.Options = append(v.Options, optionView{Value: o, Selected: o == v.Value})
		}
		out = append(out, v)
	}
	return out
}

// currentValues are the user's stored profile values as the form shows them.
func currentValues(u store.User) map[string]string {
	out := map[string]string{"given_name": u.GivenName, "family_name": u.FamilyName}
	for _, m := range []map[string]any{u.Profile.Claims, u.Profile.Attributes} {
		for k, v := range m {
			out[k] = formValue(v)
		}
	}
	return out
}

// formValue writes a stored profile value (JSON: string, bool, number) as a form value.
func formValue(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return strconv.FormatInt(int64(v), 10)
		}
		return strconv.FormatFloat(v, 'f', -1, 64)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// handleProfileSubmit is POST /t/{tenant}/account/profile: every editable field of the schema, validated
// by identity.ValidateProfile and written by identity.Service.UpdateProfile (user.updated, updated_at).
// A refused submission shows the form again with each error beside its field and the values kept.
func (p *Pages) handleProfileSubmit(w http.ResponseWriter, r *http.Request) {
	t, cur, u, ok := p.accountPost(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	submitted := map[string]string{}
	values := map[string]any{}
	tooLong := map[string]string{}
	for _, f := range identity.FormFields(t.Settings.Profile, identity.PurposeEditable) {
		v := r.PostFormValue(f.Name)
		if len(v) > maxProfileValue {
			tooLong[f.Name] = "console.error.too_long_value"
			v = ""
		}
		submitted[f.Name] = v
		values[f.Name] = v
	}
	pd := p.page(r, t, "")
	var err error
	if len(tooLong) == 0 { // a value far beyond every limit is refused before validation
		_, err = p.identity.UpdateProfile(ctx, t.ID, u.ID, identity.PurposeEditable, values, u.ID)
	}
	var fe identity.FieldErrors
	switch {
	case len(tooLong) > 0 || errors.As(err, &fe) || errors.Is(err, identity.ErrInvalidName):
		errs := map[string]string{}
		for k, v := range tooLong {
			errs[k] = pd.T(v)
		}
		for _, e := range fe {
			errs[e.Field] = fieldErrorText(pd, e)
		}
		if errors.Is(err, identity.ErrInvalidName) {
			for _, n := range []string{"given_name", "family_name"} {
				if _, ok := errs[n]; !ok && len(submitted[n]) > 200 {
					errs[n] = pd.T("field.error.too_long", "200")
				}
			}
		}
		d, verr := p.accountView(ctx, pd, t, cur, u, "profile")
		if verr != nil {
			p.serverError(w, r, t, verr)
			return
		}
		d.Fields = profileFields(pd, t.Settings.Profile, submitted, errs)
		pd.Title, pd.Error, pd.FieldErrors, pd.Data = sectionTitle("profile"), "console.profile.invalid", errs, d
		p.render(w, r, t, http.StatusUnprocessableEntity, "account", pd)
	case err != nil:
		p.serverError(w, r, t, fmt.Errorf("update profile: %w", err))
	default:
		seeOther(w, accountPath(t)+"/profile?done=profile_saved")
	}
}
