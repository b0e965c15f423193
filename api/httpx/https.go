package httpx

import (
	"bytes"

	"github.com/valyala/fasthttp"
)

// HeaderForwardedProto is the header a TLS-terminating proxy sets to the
// scheme the client used.
const HeaderForwardedProto = "X-Forwarded-Proto"

// RequireHTTPS passes a request to h when it came over HTTPS, and to reject
// otherwise. A request came over HTTPS when its connection is TLS (ledgerd
// serves TLS itself), or when X-Forwarded-Proto says "https" (any case):
// a proxy terminated TLS in front of ledgerd. When the header lists several
// schemes ("https, http", one per proxy hop), the first one, the client's
// own, counts. A plain connection without the header, or with any other
// scheme, is rejected.
//
// X-Forwarded-Proto is only as trustworthy as the network: behind a proxy
// that sets it, ledgerd's plain-HTTP port must not be reachable by clients
// directly, or a client could claim "https" itself.
func RequireHTTPS(h, reject fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		if IsHTTPS(ctx) {
			h(ctx)
			return
		}
		reject(ctx)
	}
}

// IsHTTPS reports whether ctx came over HTTPS, as RequireHTTPS decides it.
func IsHTTPS(ctx *fasthttp.RequestCtx) bool {
	if ctx.IsTLS() {
		return true
	}
	proto := ctx.Request.Header.Peek(HeaderForwardedProto)
	if i := bytes.IndexByte(proto, ','); i >= 0 {
		proto = proto[:i]
	}
	return bytes.EqualFold(bytes.Trim(proto, " \t"), []byte("https"))
}
