package httpx

import (
	"crypto/tls"
	"net"
	"testing"

	"github.com/valyala/fasthttp"
)

func TestRequireHTTPS(t *testing.T) {
	tests := []struct {
		name    string
		tls     bool
		headers []string // X-Forwarded-Proto values, each its own header line
		pass    bool
	}{
		{"plain, no header", false, nil, false},
		{"plain, http", false, []string{"http"}, false},
		{"plain, HTTP", false, []string{"HTTP"}, false},
		{"plain, https", false, []string{"https"}, true},
		{"plain, HTTPS", false, []string{"HTTPS"}, true},
		{"plain, Https padded", false, []string{" Https "}, true},
		{"plain, empty", false, []string{""}, false},
		{"plain, httpsx", false, []string{"httpsx"}, false},
		{"plain, wss", false, []string{"wss"}, false},
		{"plain, list https first", false, []string{"https, http"}, true},
		{"plain, list http first", false, []string{"http, https"}, false},
		{"plain, two lines http first", false, []string{"http", "https"}, false},
		{"tls, no header", true, nil, true},
		{"tls, http header", true, []string{"http"}, true}, // the connection itself is TLS
	}
	for _, tc := range tests {
		var ctx fasthttp.RequestCtx
		if tc.tls {
			server, client := net.Pipe()
			defer client.Close()
			ctx.Init2(tls.Server(server, &tls.Config{}), nil, false)
		} else {
			ctx.Init(&fasthttp.Request{}, nil, nil)
		}
		for _, v := range tc.headers {
			ctx.Request.Header.Add(HeaderForwardedProto, v)
		}
		var passed, rejected int
		h := RequireHTTPS(func(*fasthttp.RequestCtx) { passed++ }, func(*fasthttp.RequestCtx) { rejected++ })
		h(&ctx)
		if tc.pass != (passed == 1) || passed+rejected != 1 {
			t.Errorf("%s: passed %d, rejected %d; want pass=%v", tc.name, passed, rejected, tc.pass)
		}
		if IsHTTPS(&ctx) != tc.pass {
			t.Errorf("%s: IsHTTPS disagrees", tc.name)
		}
	}
}
