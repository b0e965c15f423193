package checkout_test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"ledgerd/api/apitest"
	"ledgerd/engine"
	ck "ledgerd/engine/checkout"
)

var pngLogo = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 64)...)

func TestAdminShops(t *testing.T) {
	s := apitest.StartWith(t, apitest.Options{StrictWebhookURLs: true})
	sh := newShop(t, s, map[string]any{"name": "Bäckerei", "accent_color": "#FF8800", "logo": base64.StdEncoding.EncodeToString(pngLogo),
		"webhook_url": "https://hooks.example.com/checkout"})
	if !strings.HasPrefix(sh.TestKey, "ck_test_") || len(sh.TestKey) != 56 || !strings.HasPrefix(sh.LiveKey, "ck_live_") || len(sh.KeyIDs) != 2 {
		t.Fatalf("shop %+v", sh)
	}
	g := s.Admin(t, "GET", "/checkout/shops/"+sh.ID, nil)
	g.WantStatus(t, http.StatusOK)
	m := g.JSON(t)
	if m["accent_color"] != "#ff8800" || m["has_logo"] != true || m["status"] != "active" || m["name"] != "Bäckerei" {
		t.Fatalf("shop %v", m)
	}
	if bytes.Contains(g.Body, []byte(sh.TestKey)) || bytes.Contains(g.Body, []byte("whsec_")) {
		t.Fatal("GET shows a key or the secret")
	}
	for name, body := range map[string]map[string]any{
		"no name":          {"accent_color": "#000000"},
		"bad colour":       {"name": "x", "accent_color": "red"},
		"gif logo":         {"name": "x", "logo": base64.StdEncoding.EncodeToString([]byte("GIF89a......"))},
		"logo not base64":  {"name": "x", "logo": "***"},
		"logo too big":     {"name": "x", "logo": base64.StdEncoding.EncodeToString(append(append([]byte{}, pngLogo...), make([]byte, ck.MaxLogo)...))},
		"http webhook":     {"name": "x", "webhook_url": "http://hooks.example.com/x"},
		"loopback":         {"name": "x", "webhook_url": "https://127.0.0.1/x"},
		"status on create": {"name": "x", "status": "inactive"},
		"unknown":          {"name": "x", "colour": "#000000"},
	} {
		r := s.Admin(t, "POST", "/checkout/shops", body)
		if r.Status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	shops := 0
	s.Sys.ReadState(func(st *engine.State) { shops = len(ck.Of(st).Shops) })
	if shops != 1 {
		t.Fatalf("%d shops after refusals", shops)
	}
	p := s.Admin(t, "PATCH", "/checkout/shops/"+sh.ID, map[string]any{"name": "New", "logo": nil, "webhook_url": nil, "rotate_webhook_secret": true})
	p.WantStatus(t, http.StatusOK)
	pm := p.JSON(t)
	if pm["name"] != "New" || pm["has_logo"] != false || pm["webhook_url"] != "" || pm["webhook_secret"] == sh.Secret || pm["webhook_secret"] == nil {
		t.Fatalf("patched %v", pm)
	}
	if r := s.Admin(t, "PATCH", "/checkout/shops/shop_nope", map[string]any{"name": "x"}); r.Status != http.StatusNotFound {
		t.Fatalf("unknown shop: %d", r.Status)
	}
	if r := s.Do(t, "POST", "/admin/checkout/shops", nil, map[string]any{"name": "x"}); r.Status != http.StatusUnauthorized {
		t.Fatalf("no token: %d", r.Status)
	}
	if r := s.Do(t, "POST", "/admin/checkout/shops", apitest.Bearer(sh.TestKey), map[string]any{"name": "x"}); r.Status != http.StatusUnauthorized {
		t.Fatalf("a shop key on admin: %d", r.Status)
	}
}
