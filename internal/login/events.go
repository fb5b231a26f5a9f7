package login

import (
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/store"
)

// The pages' events come from the catalogue in package events; these add the client IP of the request.

func eventLoginRequestCompleted(lr store.LoginRequest, ip string) store.Event {
	e := events.LoginRequestCompleted(lr.TenantID, lr.ID, lr.UserID, lr.ClientID, lr.GrantedScopes)
	e.IP = ip
	return e
}

func eventLoginRequestDenied(lr store.LoginRequest, userID, ip string) store.Event {
	e := events.LoginRequestDenied(lr.TenantID, lr.ID, userID, lr.ClientID)
	e.IP = ip
	return e
}

func eventDeviceCodeApproved(tenantID, userID, clientID, ip string) store.Event {
	e := events.DeviceCodeApproved(tenantID, userID, clientID)
	e.IP = ip
	return e
}

func eventDeviceCodeDenied(tenantID, userID, clientID, ip string) store.Event {
	e := events.DeviceCodeDenied(tenantID, userID, clientID)
	e.IP = ip
	return e
}
