package config

import "time"

// Webhooks configures the delivery of signed webhooks to the tenants' subscriptions.
type Webhooks struct {
	// AllowPrivateTargets lets subscriptions reach loopback, private, link-local and other non-public
	// addresses, and plain http anywhere. Off, a subscription's URL must be https and its host must resolve
	// to public addresses only (checked when it is saved and again at every connection, so that a name
	// re-pointed at an internal address is refused). Turn it on for development and tests, or when the
	// receivers live in the same private network on purpose.
	AllowPrivateTargets bool `yaml:"allow_private_targets"`
	// Timeout bounds one delivery attempt: connection, request and the start of the answer (default 5s).
	Timeout Duration `yaml:"timeout"`
}

func defaultWebhooks() Webhooks {
	return Webhooks{Timeout: Duration(5 * time.Second)}
}

// validateWebhooks checks the webhooks section.
func validateWebhooks(w Webhooks) Problems {
	var p Problems
	if w.Timeout <= 0 || w.Timeout.D() > time.Minute {
		p = append(p, "webhooks.timeout: must be a positive duration of at most 1m, such as 5s")
	}
	return p
}
