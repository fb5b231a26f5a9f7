package events

import (
	"encoding/json"
	"testing"
)

func TestRiskAssessedData(t *testing.T) {
	e := RiskAssessed("acme", "u1", "203.0.113.7", 55, "medium", RiskChallenged, []string{"new_device", "new_network"},
		"new device; new network")
	b, err := json.Marshal(e.Data)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"decision":"challenged","explain":"new device; new network","level":"medium","reasons":["new_device","new_network"],"score":55}`
	if string(b) != want {
		t.Fatalf("data = %s, want %s", b, want)
	}
	if e.IP != "203.0.113.7" || e.Actor != ActorSystem {
		t.Fatalf("event %+v", e)
	}
	t.Run("no reasons is an empty list, not null", func(t *testing.T) {
		b, _ := json.Marshal(RiskAssessed("acme", "", "203.0.113.7", 0, "low", RiskAllowed, nil, "").Data["reasons"])
		if string(b) != "[]" {
			t.Fatalf("reasons = %s", b)
		}
	})
}
