// Package risk scores every sign-in attempt from 0 to 100 from explainable signals: an unknown browser,
// a network or country the account never signed in from, travel faster than an airliner since the last
// sign-in, many failures from the address on any account, a breached password, a dormant account, and
// the operator's allow and deny lists. The level of the score (low, medium, high) tells the sign-in
// whether to go on, ask a second factor or refuse; the reasons say why in plain words.
//
// It keeps the networks each user signed in from (store user_networks, with the country and place of a
// MaxMind-format geo database when one is configured) and counts failures per address in the throttles
// table, so every node shares them.
//
// Surfaces (login) and server import risk; risk imports only events, keys, store and config.
package risk
