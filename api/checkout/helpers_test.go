package checkout_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"ledgerd/actors"
	ack "ledgerd/actors/checkout"
	sender "ledgerd/actors/outbox"
	"ledgerd/api/apitest"
	"ledgerd/api/checkout"
	"ledgerd/engine"
	ck "ledgerd/engine/checkout"
)

// shop is a shop as the admin API created it.
type shop struct {
	ID, TestKey, LiveKey, Secret string
	KeyIDs                       []string
}

func newShop(t testing.TB, s *apitest.Server, body map[string]any) shop {
	t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	if body["name"] == nil {
		body["name"] = apitest.Unique("Shop ")
	}
	r := s.Admin(t, "POST", "/checkout/shops", body)
	r.WantStatus(t, http.StatusCreated)
	m := r.JSON(t)
	keys := m["keys"].(map[string]any)
	var ids []string
	for _, k := range m["key_ids"].([]any) {
		ids = append(ids, k.(map[string]any)["id"].(string))
	}
	return shop{ID: m["id"].(string), TestKey: keys["test"].(string), LiveKey: keys["live"].(string), Secret: m["webhook_secret"].(string), KeyIDs: ids}
}

// api sends a request to the checkout API with key as bearer ("" none).
func api(t testing.TB, s *apitest.Server, method, path, key string, body any, h ...apitest.Header) *apitest.Response {
	t.Helper()
	hdr := apitest.Header{}
	if key != "" {
		hdr["Authorization"] = "Bearer " + key
	}
	for _, x := range h {
		for k, v := range x {
			hdr[k] = v
		}
	}
	return s.Do(t, method, checkout.Base+path, hdr, body)
}

func validBody() map[string]any {
	return map[string]any{"amount": 2000, "currency": "usd", "return_url": "http://127.0.0.1:9/done?order=7#top"}
}

func create(t testing.TB, s *apitest.Server, key string, body any, h ...apitest.Header) map[string]any {
	t.Helper()
	r := api(t, s, "POST", "/payments", key, body, h...)
	r.WantStatus(t, http.StatusOK)
	return r.JSON(t)
}

// count is how many payments the shop has in the key's mode.
func count(t testing.TB, s *apitest.Server, key string) int {
	t.Helper()
	r := api(t, s, "GET", "/payments?limit=100", key, nil)
	r.WantStatus(t, http.StatusOK)
	return len(r.JSON(t)["data"].([]any))
}

// token is the checkout token of a checkout_url.
func token(t testing.TB, p map[string]any) string {
	t.Helper()
	u := p["checkout_url"].(string)
	i := strings.LastIndex(u, "/")
	return u[i+1:]
}

var cardOK = ack.Card{Approved: true, Brand: "visa", Last4: "4242"}

// complete pays payment id at its actor, as the checkout page does.
func complete(t testing.TB, s *apitest.Server, id string) {
	t.Helper()
	sub, err := ack.Submit(s.Sys, id, cardOK, func(p *ck.Payment, typ string) ck.Notice {
		return ck.Notice{ID: "evt_t" + p.ID, Type: typ, Body: []byte(`{}`)}
	})
	if err != nil || sub.Outcome != ack.OutcomeCompleted {
		t.Fatalf("complete %s: %+v %v", id, sub, err)
	}
}

func jsonNum(t testing.TB, v any) int64 {
	t.Helper()
	n, err := v.(json.Number).Int64()
	if err != nil {
		t.Fatalf("%v is not an integer", v)
	}
	return n
}

func isTime(s any) bool {
	str, ok := s.(string)
	if !ok {
		return false
	}
	_, err := time.Parse("2006-01-02T15:04:05.000Z07:00", str)
	return err == nil && strings.HasSuffix(str, "Z")
}

// startSender runs the webhook sender on s (stopped before s).
func startSender(t testing.TB, s *apitest.Server) {
	t.Helper()
	w, err := sender.Start(s.Sys, sender.Config{MasterKey: apitest.DefaultWebhookKey, AllowInsecure: true, Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
}

// durable reads the durable state.
func durable(s *apitest.Server, fn func(st *engine.State)) { s.Sys.ReadState(fn) }

var _ = actors.StatusOK
