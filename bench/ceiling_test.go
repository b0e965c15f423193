package bench

import (
	"net"
	"testing"

	"github.com/valyala/fasthttp"

	"ledgerd/api/httpx"
)

// deductAnswer builds a deduct answer exactly as api/payshards does.
func deductAnswer(balance int64, idempotent bool) []byte {
	var buf [96]byte
	return httpx.Object(buf[:0]).Bool("success", true).Int("newBalance", balance).Bool("idempotent", idempotent).Close()
}

func TestCeilingBodyMatchesDeductAnswer(t *testing.T) {
	for _, bal := range []int64{CreditAmount - 1, CreditAmount - 5_000_000, 1_000_000_000_000} {
		if got, want := len(CeilingBody), len(deductAnswer(bal, false)); got != want {
			t.Fatalf("ceiling body %d bytes, ledgerd's deduct answer for balance %d is %d", got, bal, want)
		}
	}
	if string(CeilingBody) != string(deductAnswer(CreditAmount-1, false)) {
		t.Fatalf("ceiling body %s", CeilingBody)
	}
}

func TestCeilingServerAnswers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewCeilingServer()
	go srv.Serve(ln)
	defer srv.Shutdown()
	for _, path := range []string{PathDeduct, PathBalance + "?userId=u1", PathRedeem} {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		req.SetRequestURI("http://" + ln.Addr().String() + path)
		req.Header.SetMethod("POST")
		req.SetBodyString(`{"userId":"u1","amount":1,"reference":"r"}`)
		if err := fasthttp.Do(req, resp); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode() != 200 || string(resp.Body()) != string(CeilingBody) ||
			string(resp.Header.ContentType()) != "application/json" || string(resp.Header.Server()) != "ledgerd" {
			t.Fatalf("%s: %d %q %q %q", path, resp.StatusCode(), resp.Header.ContentType(), resp.Header.Server(), resp.Body())
		}
	}
}
