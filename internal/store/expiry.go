package store

import "time"

// expiryUnix is how an expiry is stored: in whole seconds, rounded up. Rounding down (time.Unix) would cut
// up to a second off every lifetime, so a one-second code could expire a few milliseconds after it was
// issued. Rounding up lets a row live at most one second longer than asked, never shorter; for replay
// caches (revoked tokens, client assertion ids) longer is the safe side. Whole seconds keep the columns and
// every comparison with now as they are, on both databases.
func expiryUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() != 0 {
		s++
	}
	return s
}
