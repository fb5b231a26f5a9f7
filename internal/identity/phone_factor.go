package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
)

// PhoneFlowTTL is how long a texted code proving a new number is valid.
const PhoneFlowTTL = 10 * time.Minute

// phoneState is the Data of a phone flow and of an SMS factor.
type phoneState struct {
	Phone string `json:"phone"`
}

// StartPhone starts proving the E.164 number phone for userID: a flow bound to the browser, and a texted
// code (sms formats it). It returns the flow.
func (s *Service) StartPhone(ctx context.Context, t store.Tenant, userID, phone string, browserHash []byte, sms func(string) string) (store.Flow, error) {
	now := s.now()
	data, _ := json.Marshal(phoneState{Phone: phone})
	f := store.Flow{TenantID: t.ID, ID: keys.NewID(), Kind: store.FlowPhone, State: store.FlowPending, UserID: userID,
		BrowserHash: browserHash, CreatedAt: now, ExpiresAt: now.Add(PhoneFlowTTL), Data: string(data)}
	if err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.EndUserFlows(ctx, t.ID, userID, store.FlowPhone, now); err != nil {
			return err
		}
		return tx.CreateFlow(ctx, f)
	}); err != nil {
		return f, fmt.Errorf("start phone: %w", err)
	}
	return f, s.SendSignInCode(ctx, CodeSend{Tenant: t, Flow: f, Channel: ChannelSMS, To: phone, SMSText: sms})
}

// PhoneFlow returns the user's usable phone flow of this browser, or ErrFlowInvalid.
func (s *Service) PhoneFlow(ctx context.Context, tenantID, userID, id string, browserHash []byte) (store.Flow, error) {
	f, err := s.flowOfKind(ctx, store.FlowPhone, tenantID, id, browserHash)
	if err == nil && f.UserID != userID {
		return f, ErrFlowInvalid
	}
	return f, err
}

// PhoneOf is the number a phone flow proves (or an SMS factor holds).
func PhoneOf(data string) string {
	var st phoneState
	_ = json.Unmarshal([]byte(data), &st)
	return st.Phone
}

// ConfirmPhone ends phone flow f (its code was checked with CheckCode) and adds its number as a
// confirmed SMS factor, replacing an older SMS factor of the user, with its event, in one transaction.
func (s *Service) ConfirmPhone(ctx context.Context, f store.Flow) (store.Factor, error) {
	now := s.now()
	phone := PhoneOf(f.Data)
	data, _ := json.Marshal(phoneState{Phone: phone})
	fa := store.Factor{TenantID: f.TenantID, ID: keys.NewID(), UserID: f.UserID, Kind: store.FactorSMS, Name: phone,
		Data: string(data), ConfirmedAt: now, CreatedAt: now}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetFlowState(ctx, f.TenantID, f.ID, store.FlowPending, store.FlowDone, now); err != nil {
			return err
		}
		old, err := tx.ListFactors(ctx, f.TenantID, f.UserID)
		if err != nil {
			return err
		}
		for _, o := range old {
			if o.Kind == store.FactorSMS {
				if err := tx.DeleteFactor(ctx, f.TenantID, f.UserID, o.ID); err != nil {
					return err
				}
			}
		}
		if err := tx.CreateFactor(ctx, fa); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, at(events.FactorEnrolled(f.TenantID, f.UserID, fa.ID, fa.Kind), now))
	})
	if errors.Is(err, store.ErrConflict) {
		return fa, ErrFlowInvalid
	}
	return fa, err
}

// SetEmailCodes turns email codes on (a factor of kind email for the user's verified address) or off
// for userID.
func (s *Service) SetEmailCodes(ctx context.Context, tenantID string, u store.User, on bool) error {
	now := s.now()
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		fs, err := tx.ListFactors(ctx, tenantID, u.ID)
		if err != nil {
			return err
		}
		for _, f := range fs {
			if f.Kind != store.FactorEmail {
				continue
			}
			if on {
				return nil // on already
			}
			if err := tx.DeleteFactor(ctx, tenantID, u.ID, f.ID); err != nil {
				return err
			}
			return tx.AppendEvent(ctx, at(events.FactorRemoved(tenantID, u.ID, u.ID, f.ID, f.Kind), now))
		}
		if !on {
			return nil
		}
		if !u.EmailVerified {
			return ErrEmailUnverified
		}
		f := store.Factor{TenantID: tenantID, ID: keys.NewID(), UserID: u.ID, Kind: store.FactorEmail, Name: u.Email,
			ConfirmedAt: now, CreatedAt: now}
		if err := tx.CreateFactor(ctx, f); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, at(events.FactorEnrolled(tenantID, u.ID, f.ID, f.Kind), now))
	})
}

// ErrEmailUnverified: email codes need a verified address.
var ErrEmailUnverified = errors.New("identity: the email address is not verified")
