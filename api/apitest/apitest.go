package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ledgerd/actors"
	"ledgerd/api"
	"ledgerd/api/httpx"
	"ledgerd/api/payshards"
)

// DefaultAdminToken is the admin bearer token of a server started by Start.
const DefaultAdminToken = "adm_apitest_0123456789abcdef"

// HighRateLimit is the per-minute limit NewPartner gives its partners, so
// that tests which are not about rate limiting never meet one.
const HighRateLimit = 1_000_000

// Options configure StartWith. Zero values take the defaults noted.
type Options struct {
	AdminToken    string       // default DefaultAdminToken
	DataDir       string       // default t.TempDir()
	SnapshotEvery uint64       // default: actors' default
	Logger        *slog.Logger // default: discard
	// Now is the System's clock (actors.Config.Now: rate limiter windows,
	// code expiry, redeemed_at, audit times, idempotency retention);
	// default time.Now. A Clock's Now lets a test move time by hand.
	Now func() time.Time
	// ExpiryEvery is how often the committer drops expired idempotency
	// records (actors.Config.ExpiryEvery); default: actors' default.
	ExpiryEvery time.Duration
	// RequireHTTPS is api.Config.RequireHTTPS: the server speaks plain
	// HTTP, so every PayPay.cards call is refused with 403 https_required.
	RequireHTTPS bool
	// WebhookKey is api.Config.WebhookKey (webhook secrets, CSRF tokens);
	// default DefaultWebhookKey.
	WebhookKey []byte
	// PublicURL is api.Config.PublicURL; default the server's own URL.
	PublicURL string
	// StrictWebhookURLs refuses http:// and loopback webhook URLs, as
	// production does; by default tests may use loopback receivers.
	StrictWebhookURLs bool
}

// DefaultWebhookKey is the webhook master key of a server started by Start.
var DefaultWebhookKey = []byte("apitest-webhook-master-key-0123456789abcdef")

// Server is a running ledgerd: System, HTTP server and a client for it.
// Its fields are read-only for tests; Sys and URL change on Restart.
type Server struct {
	URL        string // base URL without a trailing slash, e.g. http://127.0.0.1:41234
	AdminToken string
	DataDir    string
	Sys        *actors.System // the running System, for checks HTTP cannot make
	Client     *http.Client

	opts   Options
	srv    *httpx.Server
	served chan error
	ln     net.Listener
}

var serial atomic.Int64

// Unique returns prefix followed by a number never returned before in this
// process: for user ids, references and partner names that must not collide.
func Unique(prefix string) string {
	return prefix + strconv.FormatInt(serial.Add(1), 10)
}

// Start runs ledgerd on a fresh temporary data directory with
// DefaultAdminToken. It is stopped in t.Cleanup.
func Start(t testing.TB) *Server { return StartWith(t, Options{}) }

// StartWith is Start with options.
func StartWith(t testing.TB, o Options) *Server {
	t.Helper()
	if o.AdminToken == "" {
		o.AdminToken = DefaultAdminToken
	}
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.WebhookKey == nil {
		o.WebhookKey = DefaultWebhookKey
	}
	s := &Server{
		AdminToken: o.AdminToken,
		DataDir:    o.DataDir,
		opts:       o,
		Client: &http.Client{
			Timeout: 30 * time.Second,
			Transport: &http.Transport{
				Proxy:               nil, // never send loopback traffic to a proxy
				MaxIdleConns:        512,
				MaxIdleConnsPerHost: 512,
				IdleConnTimeout:     30 * time.Second,
			},
		},
	}
	if err := s.start(); err != nil {
		t.Fatalf("apitest: start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("apitest: stop: %v", err)
		}
	})
	return s
}

func (s *Server) start() error {
	sys, err := actors.Start(actors.Config{
		DataDir:       s.DataDir,
		SnapshotEvery: s.opts.SnapshotEvery,
		Logger:        s.opts.Logger,
		Now:           s.opts.Now,
		ExpiryEvery:   s.opts.ExpiryEvery,
		// A fail-stop inside a test is a broken invariant: crash loudly
		// rather than block every later request forever.
		Fatal: func(err error) { panic(fmt.Sprintf("apitest: ledgerd fail-stop: %v", err)) },
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		sys.Stop()
		return err
	}
	s.Sys = sys
	s.URL = "http://" + ln.Addr().String()
	key, public := s.opts.WebhookKey, s.opts.PublicURL
	if key == nil {
		key = DefaultWebhookKey
	}
	if public == "" {
		public = s.URL
	}
	s.srv = api.NewServer(sys, api.Config{AdminToken: s.AdminToken, RequireHTTPS: s.opts.RequireHTTPS,
		PublicURL: public, WebhookKey: key, WebhooksInsecure: !s.opts.StrictWebhookURLs})
	s.srv.Logger = httpx.SlogLogger{Logger: s.opts.Logger, Level: slog.LevelDebug}
	s.served = make(chan error, 1)
	srv := s.srv
	s.ln = ln
	go func() { s.served <- srv.Serve(ln) }()
	return nil
}

// stop drains the HTTP server, then stops the System (final snapshot,
// WAL closed). Calling it again is a no-op.
func (s *Server) stop() error {
	if s.srv == nil {
		return nil
	}
	s.Client.CloseIdleConnections()
	err := s.srv.Shutdown(context.Background())
	// Shutdown closes only the listeners Serve has registered: a Serve
	// that had not begun yet (a stop right after start) would serve on
	// forever. Closing the listener makes it return at once.
	s.ln.Close()
	if serveErr := <-s.served; serveErr != nil && err == nil {
		err = serveErr
	}
	if stopErr := s.Sys.Stop(); stopErr != nil && err == nil {
		err = stopErr
	}
	s.srv = nil
	return err
}

// Restart stops the server and the System cleanly and starts them again on
// the same data directory and admin token. URL and Sys change.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if err := s.stop(); err != nil {
		t.Fatalf("apitest: stop before restart: %v", err)
	}
	if err := s.start(); err != nil {
		t.Fatalf("apitest: restart: %v", err)
	}
}

// Header is a set of request headers.
type Header map[string]string

// APIKey returns the x-api-key header of the PayShards API.
func APIKey(key string) Header { return Header{"x-api-key": key} }

// Bearer returns an Authorization: Bearer header.
func Bearer(token string) Header { return Header{"Authorization": "Bearer " + token} }

// Response is what the server answered.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	req    string // "METHOD path", for messages
}

// Request sends one request and reads the whole response. body is nil (no
// body), a string or []byte (sent as is, for malformed input), or any other
// value (sent as json.Marshal of it). A body is sent with Content-Type
// application/json. Every response is checked against the OpenAPI document
// of the API its path is below (CheckResponse); a mismatch is an error.
// Request does not fail the test, so it may be called from any goroutine.
func (s *Server) Request(method, path string, h Header, body any) (*Response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("apitest: marshal body: %w", err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		return nil, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if err := CheckResponse(req, resp.StatusCode, resp.Header, data); err != nil {
		return nil, err
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: data, req: method + " " + path}, nil
}

// Do is Request that fails the test on a transport error.
func (s *Server) Do(t testing.TB, method, path string, h Header, body any) *Response {
	t.Helper()
	r, err := s.Request(method, path, h, body)
	if err != nil {
		t.Fatalf("apitest: %s %s: %v", method, path, err)
	}
	return r
}

// Admin sends a request to the admin API with the admin bearer token;
// path is below /admin (e.g. "/partners").
func (s *Server) Admin(t testing.TB, method, path string, body any) *Response {
	t.Helper()
	return s.Do(t, method, "/admin"+path, Bearer(s.AdminToken), body)
}

// PayShards sends a request to the PayShards API with key as x-api-key (no
// header when key is ""); path is below /payshards/api/partner (e.g.
// "/deduct" or "/balance?userId=u_1").
func (s *Server) PayShards(t testing.TB, method, path, key string, body any) *Response {
	t.Helper()
	var h Header
	if key != "" {
		h = APIKey(key)
	}
	return s.Do(t, method, payshards.Base+path, h, body)
}

// Partner is a partner as the admin API returned it at creation.
type Partner struct {
	ID        string
	API       string
	Name      string
	Status    string
	RateLimit int64
	APIKey    string
}

// CreatePartner creates a partner through POST /admin/partners and fails
// the test unless it gets 201. rateLimit 0 leaves rateLimitPerMinute out
// (the server's default).
func (s *Server) CreatePartner(t testing.TB, api, name string, rateLimit int64) Partner {
	t.Helper()
	body := map[string]any{"api": api, "name": name}
	if rateLimit != 0 {
		body["rateLimitPerMinute"] = rateLimit
	}
	r := s.Admin(t, "POST", "/partners", body)
	if r.Status != http.StatusCreated {
		t.Fatalf("apitest: create partner: %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	return Partner{
		ID: r.Str(t, "id"), API: r.Str(t, "api"), Name: r.Str(t, "name"), Status: r.Str(t, "status"),
		RateLimit: jsonInt(t, m, "rateLimitPerMinute"), APIKey: r.Str(t, "apiKey"),
	}
}

// NewPartner creates an active partner of api with a unique name and
// HighRateLimit.
func (s *Server) NewPartner(t testing.TB, api string) Partner {
	t.Helper()
	return s.CreatePartner(t, api, Unique("Partner "), HighRateLimit)
}

// SetPartnerStatus PATCHes a partner's status ("active" or "inactive") and
// fails the test unless it gets 200.
func (s *Server) SetPartnerStatus(t testing.TB, id, status string) {
	t.Helper()
	r := s.Admin(t, "PATCH", "/partners/"+id, map[string]string{"status": status})
	if r.Status != http.StatusOK {
		t.Fatalf("apitest: set partner %s %s: %d %s", id, status, r.Status, r.Body)
	}
}

// Credit tops up a PayShards user through the admin API (creating the
// user) and returns the balance it reports; it fails the test unless 200.
func (s *Server) Credit(t testing.TB, user string, amount int64, reference string) int64 {
	t.Helper()
	r := s.Admin(t, "POST", "/payshards/users/"+url.PathEscape(user)+"/credit", map[string]any{"amount": amount, "reference": reference})
	if r.Status != http.StatusOK {
		t.Fatalf("apitest: credit %s %d %s: %d %s", user, amount, reference, r.Status, r.Body)
	}
	return r.Int(t, "balance")
}

// NewUser credits a new user with a unique id and returns the id.
func (s *Server) NewUser(t testing.TB, balance int64) string {
	t.Helper()
	user := Unique("u_")
	if got := s.Credit(t, user, balance, Unique("topup_")); got != balance {
		t.Fatalf("apitest: new user %s: balance %d, want %d", user, got, balance)
	}
	return user
}

// Balance reads a user's balance through GET /balance with key and fails
// the test unless it gets 200.
func (s *Server) Balance(t testing.TB, key, user string) int64 {
	t.Helper()
	r := s.PayShards(t, "GET", "/balance?userId="+url.QueryEscape(user), key, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("apitest: balance of %s: %d %s", user, r.Status, r.Body)
	}
	return r.Int(t, "balance")
}

// WantBalance fails the test unless user's balance, read through the
// PayShards API with key, is want.
func (s *Server) WantBalance(t testing.TB, key, user string, want int64) {
	t.Helper()
	if got := s.Balance(t, key, user); got != want {
		t.Fatalf("balance of %s = %d, want %d", user, got, want)
	}
}

// decode parses exactly one JSON value, numbers as json.Number.
func decode(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("data after the JSON value")
	}
	return v, nil
}

// JSON decodes the body as one JSON object (numbers as json.Number) and
// fails the test if it is not one.
func (r *Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	v, err := decode(r.Body)
	m, ok := v.(map[string]any)
	if err != nil || !ok {
		t.Fatalf("%s: body is not a JSON object (%v): %q", r.req, err, r.Body)
	}
	return m
}

// Str returns a string member of the body's JSON object.
func (r *Response) Str(t testing.TB, field string) string {
	t.Helper()
	s, ok := r.JSON(t)[field].(string)
	if !ok {
		t.Fatalf("%s: body has no string %q: %s", r.req, field, r.Body)
	}
	return s
}

// Int returns an integer member of the body's JSON object; it must be
// written as an integer literal.
func (r *Response) Int(t testing.TB, field string) int64 {
	t.Helper()
	return jsonInt(t, r.JSON(t), field)
}

func jsonInt(t testing.TB, m map[string]any, field string) int64 {
	t.Helper()
	n, ok := m[field].(json.Number)
	if !ok {
		t.Fatalf("no number %q in %v", field, m)
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		t.Fatalf("%q = %s is not an integer literal", field, n)
	}
	return i
}

// IsJSON reports whether the response's Content-Type is application/json.
func (r *Response) IsJSON() bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/json"
}

// WantStatus fails the test unless the status is want and the response is
// application/json.
func (r *Response) WantStatus(t testing.TB, want int) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("%s: status %d, want %d; body %s", r.req, r.Status, want, r.Body)
	}
	if !r.IsJSON() {
		t.Fatalf("%s: Content-Type %q, want application/json", r.req, r.Header.Get("Content-Type"))
	}
}

// WantJSON fails the test unless the status is want, the response is
// application/json and its body equals wantBody as JSON: same members,
// same values, numbers compared as written (1500 is not 1500.0).
func (r *Response) WantJSON(t testing.TB, status int, wantBody string) {
	t.Helper()
	r.WantStatus(t, status)
	want, err := decode([]byte(wantBody))
	if err != nil {
		t.Fatalf("apitest: bad wanted body %q: %v", wantBody, err)
	}
	got, err := decode(r.Body)
	if err != nil {
		t.Fatalf("%s: body is not JSON (%v): %q", r.req, err, r.Body)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: body %s, want %s", r.req, r.Body, wantBody)
	}
}

// SameJSON reports whether the response has the given status, is
// application/json and its body equals wantBody as JSON. It does not fail
// the test, so it may be used from any goroutine.
func (r *Response) SameJSON(status int, wantBody string) bool {
	if r.Status != status || !r.IsJSON() {
		return false
	}
	want, err1 := decode([]byte(wantBody))
	got, err2 := decode(r.Body)
	return err1 == nil && err2 == nil && reflect.DeepEqual(got, want)
}

// WantError fails the test unless the status is want, the response is
// application/json and its "error" member is code (other members, such as
// the admin API's free-text "message", are not checked).
func (r *Response) WantError(t testing.TB, status int, code string) {
	t.Helper()
	r.WantStatus(t, status)
	if got := r.Str(t, "error"); got != code {
		t.Fatalf("%s: error %q, want %q; body %s", r.req, got, code, r.Body)
	}
}

// Concurrently runs fn(0) … fn(n-1) at once (all released together) and
// returns their responses in order; a transport error fails the test.
// fn must be safe to call from several goroutines (Request and
// PayPayRequest are).
func Concurrently(t testing.TB, n int, fn func(i int) (*Response, error)) []*Response {
	t.Helper()
	resps := make([]*Response, n)
	errs := make([]error, n)
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-gate
			resps[i], errs[i] = fn(i)
		})
	}
	close(gate)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	return resps
}
