package store

// EmbeddedVersions lists the versions of the migrations embedded in this binary, in order (numbers may
// have gaps).
func EmbeddedVersions() []int {
	ms, _ := migrations()
	vs := make([]int, len(ms))
	for i, m := range ms {
		vs[i] = m.version
	}
	return vs
}
