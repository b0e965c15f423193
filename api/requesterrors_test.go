package api

import (
	"bufio"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"ledgerd/actors"
	"ledgerd/api/httpx"
	"ledgerd/api/paypay"
)

// rawRequest sends head (and body) on a new connection to addr and reads
// the answer.
func rawRequest(t *testing.T, addr, raw string) *fasthttp.Response {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	resp := &fasthttp.Response{}
	if err := resp.Read(bufio.NewReader(c)); err != nil {
		t.Fatalf("reading the answer to %q: %v", raw[:min(len(raw), 60)], err)
	}
	return resp
}

// TestServer_RequestErrorsInEnvelope checks, through a real listener, that
// a body over httpx.MaxWireBodyBytes gets 413 and a request fasthttp cannot
// read gets 400, each in the envelope of the API its path belongs to.
func TestServer_RequestErrorsInEnvelope(t *testing.T) {
	sys, err := actors.Start(actors.Config{DataDir: t.TempDir(), Fatal: func(err error) { t.Errorf("fatal: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Stop()
	srv := NewServer(sys, Config{AdminToken: "tok"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Shutdown(t.Context())
	addr := ln.Addr().String()
	tooLarge := func(path string) string {
		return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
			"2000000\r\n\r\n{\"userId\":"
	}
	brokenChunks := func(path string) string {
		return "POST " + path + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
	}
	chunkedTooLarge := func(path string) string {
		chunk := strings.Repeat("x", 1<<16)
		return "POST " + path + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
			strings.Repeat("10000\r\n"+chunk+"\r\n", httpx.MaxWireBodyBytes>>16+1) + "0\r\n\r\n"
	}
	tests := []struct {
		name, raw string
		status    int
		want      map[string]string
	}{
		{"payshards 413", tooLarge("/payshards/api/partner/deduct"), 413, map[string]string{"error": "invalid_request"}},
		// fasthttp resets the request when it fails reading a body (other
		// than a Content-Length over the limit), so the path is lost and
		// the answer is the generic JSON one.
		{"payshards broken chunks", brokenChunks("/payshards/api/partner/refund"), 400, map[string]string{"error": "bad_request"}},
		{"payshards chunked over limit", chunkedTooLarge("/payshards/api/partner/deduct"), 413, map[string]string{"error": "request_too_large"}},
		{"paypay 413", tooLarge(paypay.Base + "/redeem"), 413,
			map[string]string{"error": paypay.CodeInvalidBody, "message": paypay.MsgBodyTooLarge}},
		{"admin 413", tooLarge("/admin/partners"), 413,
			map[string]string{"error": "request_too_large", "message": "request body over 1 MiB"}},
		{"admin 400", brokenChunks("/admin/partners"), 400, map[string]string{"error": "bad_request"}},
		{"no API 413", tooLarge("/elsewhere"), 413, map[string]string{"error": "request_too_large"}},
		{"base prefix only", tooLarge("/payshards/api/partnerX"), 413, map[string]string{"error": "request_too_large"}},
	}
	for _, tc := range tests {
		resp := rawRequest(t, addr, tc.raw)
		if resp.StatusCode() != tc.status {
			t.Errorf("%s: status %d, want %d (%s)", tc.name, resp.StatusCode(), tc.status, resp.Body())
			continue
		}
		if ct := string(resp.Header.ContentType()); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s: Content-Type %q", tc.name, ct)
		}
		var got map[string]any
		if err := json.Unmarshal(resp.Body(), &got); err != nil {
			t.Errorf("%s: body %q: %v", tc.name, resp.Body(), err)
			continue
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%s: %s = %v, want %q (body %s)", tc.name, k, got[k], v, resp.Body())
			}
		}
		if strings.HasPrefix(tc.name, "paypay") {
			id, _ := got["request_id"].(string)
			if !strings.HasPrefix(id, paypay.RequestIDPrefix) || string(resp.Header.Peek(paypay.HeaderRequestID)) != id {
				t.Errorf("%s: request_id %q, header %q", tc.name, id, resp.Header.Peek(paypay.HeaderRequestID))
			}
		}
	}
	// A body at the HTTP limit reaches the handler (and its own 400 for
	// bodies over httpx.MaxBodyBytes), so the 413 is the limit's, not a
	// side effect of big bodies.
	body := strings.Repeat(" ", httpx.MaxWireBodyBytes)
	resp := rawRequest(t, addr, "POST /payshards/api/partner/deduct HTTP/1.1\r\nHost: x\r\nContent-Length: "+
		"1048576\r\n\r\n"+body)
	if resp.StatusCode() != fasthttp.StatusUnauthorized {
		t.Errorf("body at the limit: status %d (%s), want the handler's 401", resp.StatusCode(), resp.Body())
	}
}
