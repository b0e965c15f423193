package paypay

import (
	"encoding/json"
	"fmt"
	"regexp"
	"testing"

	"github.com/valyala/fasthttp"

	"ledgerd/api/httpx"
)

var requestIDRE = regexp.MustCompile(`^req_[0-9a-zA-Z]{18}$`)

func TestNewRequestID(t *testing.T) {
	seen := map[string]bool{}
	chars := map[rune]bool{}
	for range 5000 {
		id := NewRequestID()
		if !requestIDRE.MatchString(id) {
			t.Fatalf("NewRequestID() = %q", id)
		}
		if seen[id] {
			t.Fatalf("repeated %q", id)
		}
		seen[id] = true
		for _, c := range id[len(RequestIDPrefix):] {
			chars[c] = true
		}
	}
	if len(chars) != 62 {
		t.Errorf("%d distinct characters in 90,000 draws, want all 62", len(chars))
	}
}

func TestWriteError(t *testing.T) {
	var ctx fasthttp.RequestCtx
	WriteError(&ctx, fasthttp.StatusBadRequest, CodeInvalidBody, MsgInvalidBody, "req_abcdefghijklmnopqr", nil)
	want := `{"error":"invalid_body","message":` + string(httpx.AppendString(nil, MsgInvalidBody)) + `,"request_id":"req_abcdefghijklmnopqr"}`
	if got := string(ctx.Response.Body()); got != want {
		t.Fatalf("body\n got %s\nwant %s", got, want)
	}
	if ctx.Response.StatusCode() != 400 || string(ctx.Response.Header.ContentType()) != "application/json" ||
		string(ctx.Response.Header.Peek("X-Request-Id")) != "req_abcdefghijklmnopqr" {
		t.Fatalf("status %d, type %s, X-Request-Id %q", ctx.Response.StatusCode(), ctx.Response.Header.ContentType(),
			ctx.Response.Header.Peek("X-Request-Id"))
	}
}

func TestWriteErrorRedeemRefusals(t *testing.T) {
	const rid = "req_0123456789abcdefgh"
	tests := []struct {
		code   string
		status int
		want   string
	}{
		{CodeNotFound, 404, `{"redeemed":false,"reason":"not_found","error":"not_found","message":"` + MsgNotFound + `","request_id":"` + rid + `"}`},
		{CodeExpired, 410, `{"redeemed":false,"reason":"expired","error":"expired","message":"` + MsgExpired + `","request_id":"` + rid + `"}`},
		{CodeRevoked, 423, `{"redeemed":false,"reason":"revoked","error":"revoked","message":"` + MsgRevoked + `","request_id":"` + rid + `"}`},
		{CodeAlreadyRedeemed, 409, `{"redeemed":false,"reason":"already_redeemed","redeemed_at":"2026-04-18T14:30:00.000Z",` +
			`"error":"already_redeemed","message":"` + MsgAlreadyRedeemed + `","request_id":"` + rid + `"}`},
	}
	for _, tc := range tests {
		var ctx fasthttp.RequestCtx
		WriteCode(&ctx, tc.code, rid, RedeemRefusal(tc.code, 1776522600000))
		if got := string(ctx.Response.Body()); got != tc.want || ctx.Response.StatusCode() != tc.status {
			t.Errorf("%s: %d %s\nwant %d %s", tc.code, ctx.Response.StatusCode(), got, tc.status, tc.want)
		}
		var m map[string]any
		if err := json.Unmarshal(ctx.Response.Body(), &m); err != nil || m["redeemed"] != false || m["reason"] != tc.code {
			t.Errorf("%s: %v %v", tc.code, m, err)
		}
	}
}

func TestStatusAndMessage(t *testing.T) {
	want := map[string]int{
		CodeUnauthorized: 401, CodeInvalidBody: 400, CodeRateLimited: 429, CodeNotFound: 404, CodeExpired: 410,
		CodeRevoked: 423, CodeAlreadyRedeemed: 409, CodeIdempotencyKeyReused: 422, CodeHTTPSRequired: 403,
		CodeMethodNotAllowed: 405, CodeInternal: 500, CodeOverloaded: 503,
	}
	messages := map[string]bool{}
	for code, status := range want {
		if got := Status(code); got != status {
			t.Errorf("Status(%s) = %d, want %d", code, got, status)
		}
		msg := Message(code)
		if msg == "" || (messages[msg] && code != CodeInternal) {
			t.Errorf("Message(%s) = %q: empty or shared", code, msg)
		}
		messages[msg] = true
	}
	if Status("nonsense") != 500 || Message("nonsense") != MsgInternal {
		t.Error("unknown code is not internal")
	}
}

func TestRejectHTTP(t *testing.T) {
	var ctx fasthttp.RequestCtx
	RejectHTTP(&ctx)
	var m map[string]string
	if err := json.Unmarshal(ctx.Response.Body(), &m); err != nil {
		t.Fatal(err)
	}
	if ctx.Response.StatusCode() != 403 || m["error"] != CodeHTTPSRequired || m["message"] != MsgHTTPSRequired ||
		!requestIDRE.MatchString(m["request_id"]) || string(ctx.Response.Header.Peek(HeaderRequestID)) != m["request_id"] || len(m) != 3 {
		t.Fatalf("%d %s %q", ctx.Response.StatusCode(), ctx.Response.Body(), ctx.Response.Header.Peek(HeaderRequestID))
	}
}

func ExampleWriteError() {
	var ctx fasthttp.RequestCtx
	WriteError(&ctx, fasthttp.StatusTooManyRequests, CodeRateLimited, MsgRateLimited, "req_000000000000000000", nil)
	ctx.Response.Header.Set("Retry-After", "12")
	fmt.Println(ctx.Response.StatusCode(), string(ctx.Response.Header.Peek(HeaderRequestID)))
	fmt.Println(string(ctx.Response.Body()))
	// Output:
	// 429 req_000000000000000000
	// {"error":"rate_limited","message":"Rate limit exceeded; retry after the number of seconds in Retry-After.","request_id":"req_000000000000000000"}
}
