package paypay

import (
	"testing"

	"ledgerd/engine"
)

// Moved from engine/cards_test.go: DecideAttempt's precedence.

func TestDecideAttemptPrecedence(t *testing.T) {
	base := Card{Partner: "pp", Tier: "gold", Label: "Gold", IssuedMs: 6, ExpiresMs: 1000}
	revoked, redeemed, both := base, base, base
	revoked.RevokedMs = 50
	redeemed.RedeemedMs, redeemed.RedemptionID = 60, "rdm_first"
	both.RevokedMs, both.RedeemedMs = 50, 60 // cannot happen; revoked wins
	tests := []struct {
		name     string
		card     *Card
		partner  string
		action   Action
		now      int64
		code     engine.Code
		redeemed int64
		leak     bool // Tier, Label and ExpiresMs are shown
	}{
		{"no such code", nil, "pp", ActionRedeem, 10, ResultNotFound, 0, false},
		{"other partner's code", &base, "pq", ActionRedeem, 10, ResultNotFound, 0, false},
		{"other partner's revoked code", &revoked, "pq", ActionValidate, 10, ResultNotFound, 0, false},
		{"other partner's redeemed code", &redeemed, "pq", ActionValidate, 10, ResultNotFound, 0, false},
		{"other partner's expired code", &base, "pq", ActionValidate, 5000, ResultNotFound, 0, false},
		{"revoked", &revoked, "pp", ActionRedeem, 10, ResultRevoked, 0, true},
		{"revoked beats expired", &revoked, "pp", ActionValidate, 5000, ResultRevoked, 0, true},
		{"revoked beats redeemed", &both, "pp", ActionRedeem, 10, ResultRevoked, 0, true},
		{"already redeemed", &redeemed, "pp", ActionRedeem, 70, ResultAlreadyRedeemed, 60, true},
		{"validate redeemed", &redeemed, "pp", ActionValidate, 70, ResultAlreadyRedeemed, 60, true},
		{"redeemed beats expired", &redeemed, "pp", ActionRedeem, 5000, ResultAlreadyRedeemed, 60, true},
		{"expired exactly at ExpiresMs", &base, "pp", ActionRedeem, 1000, ResultExpired, 0, true},
		{"validate expired", &base, "pp", ActionValidate, 1001, ResultExpired, 0, true},
		{"redeem 1 ms before expiry", &base, "pp", ActionRedeem, 999, engine.CodeOK, 999, true},
		{"validate ok", &base, "pp", ActionValidate, 999, engine.CodeOK, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before Card
			if tc.card != nil {
				before = *tc.card
			}
			ref := ""
			if tc.action == ActionRedeem {
				ref = "idem-1"
			}
			ev := DecideAttempt(tc.card, tc.partner, "c1", tc.action, tc.now, "req_1", "rdm_new", ref)
			if ev.EventType() != EvCodeAttempt || ev.Outcome != tc.code || ev.RedeemedMs != tc.redeemed {
				t.Fatalf("got type %d code %d redeemedMs %d, want %d %d", ev.EventType(), ev.Outcome, ev.RedeemedMs, tc.code, tc.redeemed)
			}
			if ev.Partner != tc.partner || ev.Code != "c1" || ev.Action != tc.action || ev.TimeMs != tc.now || ev.RequestID != "req_1" || ev.Key != ref {
				t.Fatalf("identity fields not carried: %+v", ev)
			}
			wantRedemption := ""
			if tc.code == engine.CodeOK && tc.action == ActionRedeem {
				wantRedemption = "rdm_new"
			}
			if ev.RedemptionID != wantRedemption {
				t.Fatalf("RedemptionID %q, want %q", ev.RedemptionID, wantRedemption)
			}
			if tc.leak {
				if ev.Tier != tc.card.Tier || ev.Label != tc.card.Label || ev.ExpiresMs != tc.card.ExpiresMs {
					t.Fatalf("card details not shown: %+v", ev)
				}
			} else if ev.Tier != "" || ev.Label != "" || ev.ExpiresMs != 0 || ev.RedeemedMs != 0 || ev.RedemptionID != "" {
				t.Fatalf("not-found attempt leaks the card: %+v", ev)
			}
			if tc.card != nil && *tc.card != before {
				t.Fatal("DecideAttempt mutated the card")
			}
			if err := engine.Validate(ev); err != nil {
				t.Fatalf("decided event does not validate: %v", err)
			}
		})
	}
}
