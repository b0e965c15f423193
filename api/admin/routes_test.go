package admin_test

import (
	"net/http"
	"testing"

	"ledgerd/api/admin"
	"ledgerd/api/apitest"
)

// TestAdmin_UnknownRoute: a path or method the admin API does not serve
// gets the admin envelope, {"error","message"}, with or without the token,
// and does nothing.
func TestAdmin_UnknownRoute(t *testing.T) {
	s := apitest.Start(t)
	p := s.NewPartner(t, "payshards")
	cases := []struct {
		name, method, path, body string
		status                   int
		code, message            string
	}{
		{"unknown path", "GET", "/admin/nope", "", http.StatusNotFound, "not_found", admin.MsgRouteNotFound},
		{"base itself", "GET", "/admin", "", http.StatusNotFound, "not_found", admin.MsgRouteNotFound},
		{"misspelled credit", "POST", "/admin/payshards/users/u_typo/credits", credit(100, "t1"), http.StatusNotFound, "not_found", admin.MsgRouteNotFound},
		{"trailing slash", "POST", "/admin/partners/", `{"api":"payshards","name":"Acme"}`, http.StatusNotFound, "not_found", admin.MsgRouteNotFound},
		{"wrong method", "DELETE", "/admin/partners/" + p.ID, "", http.StatusMethodNotAllowed, "method_not_allowed", admin.MsgMethodNotAllowed},
		{"GET on credit", "GET", "/admin/payshards/users/u_typo/credit", "", http.StatusMethodNotAllowed, "method_not_allowed", admin.MsgMethodNotAllowed},
	}
	for _, c := range cases {
		for _, h := range []struct {
			name string
			h    apitest.Header
		}{{"token", apitest.Bearer(s.AdminToken)}, {"no token", nil}} {
			t.Run(c.name+"/"+h.name, func(t *testing.T) {
				var body any
				if c.body != "" {
					body = c.body
				}
				r := s.Do(t, c.method, c.path, h.h, body)
				if !r.SameJSON(c.status, `{"error":"`+c.code+`","message":"`+c.message+`"}`) {
					t.Fatalf("%s %s: %d %s, want %d with error %q and message %q", c.method, c.path, r.Status, r.Body, c.status, c.code, c.message)
				}
			})
		}
	}
	// Nothing happened: the partner is still there and active, and the
	// misspelled credit created no user.
	if got := s.Admin(t, "GET", "/partners/"+p.ID, nil).Str(t, "status"); got != "active" {
		t.Fatalf("partner status %q", got)
	}
	s.PayShards(t, "GET", "/balance?userId=u_typo", p.APIKey, nil).WantJSON(t, http.StatusNotFound, `{"error":"unknown_user"}`)
}
