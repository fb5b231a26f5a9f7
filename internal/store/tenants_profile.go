package store

import (
	"bytes"
	"encoding/json"
)

// Equal reports whether two settings store the same JSON. The profile schema holds maps and slices, so the
// struct is not comparable with ==; the stored form is what matters (a nil and an empty list are the same).
func (s TenantSettings) Equal(o TenantSettings) bool {
	a, errA := json.Marshal(s)
	b, errB := json.Marshal(o)
	return errA == nil && errB == nil && bytes.Equal(a, b)
}
