package main

// Security tests (issue 5) with a real ledgerd subprocess: partner
// isolation (references, refunds, codes), admin/partner credential
// separation, no plaintext secret in the data directory or the log, and
// constant-time admin token comparison (checked in the source).

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestSecurityPartnerIsolationAndSecrets(t *testing.T) {
	bin := buildLedgerd(t)
	dataDir, logDir := t.TempDir(), t.TempDir()
	dumpLogsOnFailure(t, logDir)
	// No LEDGERD_ADMIN_TOKEN: the token is generated into <data>/admin-token.
	p := startNamed(t, bin, dataDir, logDir, "run0", procOpts{readyPath: healthPath, args: []string{"--snapshot-every", "5", "--snapshot-fixed"}})
	tokenPath := filepath.Join(dataDir, adminTokenFile)
	raw, err := os.ReadFile(tokenPath)
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(raw))
	if fi, err := os.Stat(tokenPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("admin token file mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}

	a := p.partner(token, "payshards", "Partner A", 1_000_000)
	b := p.partner(token, "payshards", "Partner B", 1_000_000)
	c := p.partner(token, "payshards", "Partner C", 1_000_000)
	var a2 struct {
		ID     string `json:"id"`
		APIKey string `json:"apiKey"`
	}
	p.mustJSON("POST", "/admin/partners/"+a.ID+"/keys", adminAuth(token), nil, http.StatusCreated, &a2)
	pa := p.partner(token, "paypay", "PayPay A", 1_000_000)
	pb := p.partner(token, "paypay", "PayPay B", 1_000_000)
	secrets := map[string]string{"admin token": token, "key A": a.APIKey, "key A2": a2.APIKey, "key B": b.APIKey,
		"key C": c.APIKey, "paypay key A": pa.APIKey, "paypay key B": pb.APIKey}

	var issued struct {
		Codes []string `json:"codes"`
	}
	p.mustJSON("POST", "/admin/paypay/partners/"+pb.ID+"/codes", adminAuth(token), map[string]any{
		"count": 2, "tier": "month", "entitlement_label": "1 month",
		"expires_at": time.Now().Add(24 * time.Hour).UTC().Format("2006-01-02T15:04:05.000Z"),
	}, http.StatusCreated, &issued)
	if len(issued.Codes) != 2 {
		t.Fatalf("codes %v", issued.Codes)
	}
	p.mustJSON("POST", "/admin/payshards/users/sec_u1/credit", adminAuth(token), map[string]any{"amount": 1000, "reference": "sec_t1"}, http.StatusOK, nil)

	expect := func(what string, kind, key string, amount int64, ref string, wantStatus int, check func(opResult) bool) {
		t.Helper()
		st, res, err := p.op(kind, key, "sec_u1", amount, ref)
		if err != nil || st != wantStatus || !check(res) {
			t.Errorf("%s: %s %d ref %q: status %d %+v err %v (want %d)", what, kind, amount, ref, st, res, err, wantStatus)
		}
	}
	fresh := func(bal int64) func(opResult) bool {
		return func(r opResult) bool { return r.Success && !r.Idempotent && r.NewBalance == bal }
	}
	replay := func(bal int64) func(opResult) bool {
		return func(r opResult) bool { return r.Success && r.Idempotent && r.NewBalance == bal }
	}
	errIs := func(code string) func(opResult) bool { return func(r opResult) bool { return r.Error == code } }

	// The same reference string is independent per partner.
	expect("A deducts", "deduct", a.APIKey, 100, "same", 200, fresh(900))
	expect("B, same reference, is a new deduct", "deduct", b.APIKey, 50, "same", 200, fresh(850))
	expect("B retries its own", "deduct", b.APIKey, 50, "same", 200, replay(850))
	expect("B with A's parameters is B's conflict", "deduct", b.APIKey, 100, "same", 409, errIs("idempotency_conflict"))
	expect("A's second key sees A's reference", "deduct", a2.APIKey, 100, "same", 200, replay(900))
	expect("A unaffected by B", "deduct", a.APIKey, 100, "same", 200, replay(900))
	// Refunds: B can refund only what B deducted; C nothing.
	refundable := func(n int64) func(opResult) bool {
		return func(r opResult) bool {
			return r.Error == "refund_exceeds_deducted" && r.Refundable != nil && *r.Refundable == n
		}
	}
	expect("B refunds A's deduct", "refund", b.APIKey, 100, "ref_b1", 409, refundable(50))
	expect("C refunds what others deducted", "refund", c.APIKey, 1, "ref_c1", 409, refundable(0))
	expect("A refunds its own", "refund", a.APIKey, 100, "ref_a1", 200, fresh(950))
	expect("B's refund reference is B's own", "refund", b.APIKey, 50, "ref_a1", 200, fresh(1000))
	if bal := p.mustBalance(c.APIKey, "sec_u1"); bal != 1000 {
		t.Errorf("balance %d, want 1000", bal)
	}

	// PayPay.cards codes belong to their partner.
	code := issued.Codes[0]
	st, body, err := p.do("POST", "/paypay/api/v1/validate", map[string]string{"Authorization": "Bearer " + pa.APIKey}, map[string]any{"code": code})
	if err != nil || st != http.StatusOK || !bytes.Contains(body, []byte(`"valid":false`)) || !bytes.Contains(body, []byte(`"not_found"`)) {
		t.Errorf("partner A validates B's code: %d %s %v, want valid:false not_found", st, body, err)
	}
	st, body, err = p.do("POST", "/paypay/api/v1/redeem", map[string]string{"Authorization": "Bearer " + pa.APIKey}, map[string]any{"code": code})
	if err != nil || st != http.StatusNotFound || !bytes.Contains(body, []byte(`"not_found"`)) {
		t.Errorf("partner A redeems B's code: %d %s %v, want 404 not_found", st, body, err)
	}
	st, body, _ = p.do("POST", "/paypay/api/v1/redeem", map[string]string{"Authorization": "Bearer " + pb.APIKey}, map[string]any{"code": code})
	if st != http.StatusOK || !bytes.Contains(body, []byte(`"redeemed":true`)) {
		t.Errorf("owner redeems after the foreign attempts: %d %s", st, body)
	}
	// Audit lists: A sees only its own attempts, all not_found; B sees only
	// its own redeem, not A's attempts.
	var attempts struct {
		Data []struct{ Action, Outcome, Code string }
	}
	p.mustJSON("GET", "/paypay/api/v1/redemption_attempts?limit=100", map[string]string{"Authorization": "Bearer " + pa.APIKey}, nil, http.StatusOK, &attempts)
	for _, a := range attempts.Data {
		if a.Outcome != "not_found" {
			t.Errorf("partner A's audit list reveals %+v", a)
		}
	}
	p.mustJSON("GET", "/paypay/api/v1/redemption_attempts?limit=100", map[string]string{"Authorization": "Bearer " + pb.APIKey}, nil, http.StatusOK, &attempts)
	if len(attempts.Data) != 1 || attempts.Data[0].Outcome != "redeemed" {
		t.Errorf("partner B's audit list: %+v, want only its own redeem", attempts.Data)
	}

	// Admin routes refuse partner keys; partner routes refuse the admin token.
	for _, key := range []string{a.APIKey, pa.APIKey} {
		for _, h := range []map[string]string{{"Authorization": "Bearer " + key}, {"x-api-key": key}} {
			st, body, _ := p.do("GET", "/admin/partners/"+a.ID, h, nil)
			if st != http.StatusUnauthorized {
				t.Errorf("admin route with a partner key (%v): %d %s", h, st, body)
			}
			st, body, _ = p.do("POST", "/admin/payshards/users/sec_u1/credit", h, map[string]any{"amount": 5, "reference": "evil"})
			if st != http.StatusUnauthorized {
				t.Errorf("admin credit with a partner key: %d %s", st, body)
			}
		}
	}
	for _, h := range []map[string]string{{"x-api-key": token}, {"Authorization": "Bearer " + token}} {
		st, body, _ := p.do("GET", "/payshards/api/partner/balance?userId=sec_u1", h, nil)
		if st != http.StatusUnauthorized {
			t.Errorf("payshards with the admin token (%v): %d %s", h, st, body)
		}
		st, body, _ = p.do("POST", "/paypay/api/v1/validate", h, map[string]any{"code": issued.Codes[1]})
		if st != http.StatusUnauthorized {
			t.Errorf("paypay with the admin token (%v): %d %s", h, st, body)
		}
	}
	// A partner key of one API is not a key of the other.
	if st, body, _ := p.do("GET", "/payshards/api/partner/balance?userId=sec_u1", map[string]string{"x-api-key": pa.APIKey}, nil); st != http.StatusUnauthorized {
		t.Errorf("payshards with a paypay key: %d %s", st, body)
	}
	// The key listing shows only a hint.
	st, body, _ = p.do("GET", "/admin/partners/"+a.ID+"/keys", adminAuth(token), nil)
	if st != http.StatusOK || bytes.Contains(body, []byte(a.APIKey)) || bytes.Contains(body, []byte(a2.APIKey)) {
		t.Errorf("key listing: %d %s", st, body)
	}
	p.stop(t)
	// A restart replays everything (WAL and snapshots hold the state), then
	// stop again so both are on disk.
	p = startNamed(t, bin, dataDir, logDir, "run1", procOpts{readyPath: healthPath, args: []string{"--snapshot-every", "5", "--snapshot-fixed"}})
	expect("after restart, B's replay", "deduct", b.APIKey, 50, "same", 200, replay(850))
	p.stop(t)

	if snaps := ftSnapshots(t, dataDir); len(snaps) == 0 {
		t.Errorf("no snapshot written: the scan below would not cover snapshots")
	}
	// No secret in any file of the data dir (the admin-token file aside,
	// for the admin token only), nor in any log.
	var files []string
	filepath.WalkDir(dataDir, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files = append(files, path)
		}
		return nil
	})
	logs, _ := filepath.Glob(filepath.Join(logDir, "*.log"))
	scanned, sawName := 0, false
	for _, f := range append(files, logs...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		scanned += len(data)
		sawName = sawName || (f != tokenPath && bytes.Contains(data, []byte("PayPay B")) && !strings.HasSuffix(f, ".log"))
		for name, s := range secrets {
			if f == tokenPath && name == "admin token" {
				continue
			}
			// the whole secret, and its random part without the prefix
			forms := []string{s, strings.TrimPrefix(strings.TrimPrefix(s, "pk_live_"), "adm_")}
			for _, form := range forms {
				if bytes.Contains(data, []byte(form)) {
					t.Errorf("%s found in plain text in %s", name, f)
				}
			}
		}
	}
	if !sawName {
		t.Errorf("positive control: no data-dir file holds the partner name \"PayPay B\"; the scan does not see the WAL/snapshots")
	}
	t.Logf("scanned %d files (%d bytes) for %d secrets", len(files)+len(logs), scanned, len(secrets))
}

// TestSecurityAdminTokenConstantTime checks in the source that the admin
// guard compares the bearer token with crypto/subtle.ConstantTimeCompare
// (over SHA-256 hashes) and compares it in no other way, and that partner
// keys are looked up by their SHA-256 hash (engine.HashKey), never compared
// as plain strings.
func TestSecurityAdminTokenConstantTime(t *testing.T) {
	fset := token.NewFileSet()
	parse := func(path string) *ast.File {
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatalf("parse %s: %v", path, err)
		}
		return f
	}
	admin := parse(filepath.Join("..", "..", "api", "admin", "handler.go"))
	var guard *ast.FuncDecl
	for _, d := range admin.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == "guard" {
			guard = fd
		}
	}
	if guard == nil {
		t.Fatal("api/admin/handler.go has no guard function")
	}
	ctc, sha := false, false
	ast.Inspect(guard, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok {
					switch x.Name + "." + sel.Sel.Name {
					case "subtle.ConstantTimeCompare":
						ctc = true
					case "sha256.Sum256":
						sha = true
					case "bytes.Equal", "strings.EqualFold", "bytes.Compare", "strings.Compare":
						t.Errorf("%v: guard compares with %s.%s (not constant time)", fset.Position(n.Pos()), x.Name, sel.Sel.Name)
					}
				}
			}
		case *ast.BinaryExpr:
			if n.Op == token.EQL || n.Op == token.NEQ {
				src := exprString(n)
				if !strings.Contains(src, "ConstantTimeCompare") && (strings.Contains(strings.ToLower(src), "token") || strings.Contains(src, "got")) {
					t.Errorf("%v: guard compares the token with %s", fset.Position(n.Pos()), src)
				}
			}
		}
		return true
	})
	if !ctc || !sha {
		t.Errorf("admin guard: subtle.ConstantTimeCompare %v, sha256.Sum256 %v; want both", ctc, sha)
	}
	// Every API resolves keys through the shared check, which looks them up
	// by their SHA-256 (engine.HashKey), never in clear.
	shared := filepath.Join("..", "..", "actors", "partners.go")
	if src, err := os.ReadFile(shared); err != nil || !regexp.MustCompile(`hash := engine\.HashKey\(key\)`).Match(src) {
		t.Errorf("%s: Authenticate does not look keys up by engine.HashKey (%v)", shared, err)
	}
	for _, path := range []string{
		filepath.Join("..", "..", "api", "payshards", "handler.go"),
		filepath.Join("..", "..", "api", "paypay", "handler.go"),
	} {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`\.Authenticate\(`).Match(src) {
			t.Errorf("%s does not resolve keys through actors.System.Authenticate", path)
		}
		parse(path)
	}
}

// exprString lists the identifiers of e.
func exprString(e ast.Expr) string {
	var names []string
	ast.Inspect(e, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			names = append(names, id.Name)
		}
		return true
	})
	return strings.Join(names, " ")
}
