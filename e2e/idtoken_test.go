package e2e

import (
	"context"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// exchangeVerified exchanges code (with the PKCE verifier) at conf's token endpoint, verifies the ID
// token of issuer for conf's client with go-oidc, a relying party we did not write, and decodes its
// claims into claims. It returns the tokens.
func exchangeVerified(t *testing.T, ctx context.Context, conf *oauth2.Config, issuer, code, verifier string, claims any) *oauth2.Token {
	t.Helper()
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange the code: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	prov, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatal(err)
	}
	idt, err := prov.Verifier(&oidc.Config{ClientID: conf.ClientID}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("verify the ID token: %v", err)
	}
	if err := idt.Claims(claims); err != nil {
		t.Fatal(err)
	}
	return tok
}
