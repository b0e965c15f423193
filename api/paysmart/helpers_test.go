package paysmart_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ledgerd/api/apitest"
)

// Helpers of the black-box tests: every request goes through a real
// listener and every answer is checked against openapi.json.

var expYear = time.Now().Year() + 3

// cardBody is the spec's example request with number and a future expiry.
func cardBody(amount int64, number string) map[string]any {
	return map[string]any{"amount": amount, "currency": "usd",
		"payment_method": map[string]any{"type": "card", "card": map[string]any{"number": number, "exp_month": 12, "exp_year": expYear, "cvc": cvcOf(number)}}}
}

func cvcOf(number string) string {
	if strings.HasPrefix(number, "34") || strings.HasPrefix(number, "37") {
		return "1234"
	}
	return "123"
}

func key(k string) apitest.Header { return apitest.Header{"Idempotency-Key": k} }

// obj decodes a JSON object answer.
func obj(t *testing.T, r *apitest.Response) map[string]any { t.Helper(); return r.JSON(t) }

func errOf(t *testing.T, r *apitest.Response) map[string]any {
	t.Helper()
	e, ok := r.JSON(t)["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object: %s", r.Body)
	}
	return e
}

// wantError checks status, type, code and param (param "" = null).
func wantError(t *testing.T, r *apitest.Response, status int, typ, code, param string) map[string]any {
	t.Helper()
	r.WantStatus(t, status)
	e := errOf(t, r)
	var gotParam string
	if p, ok := e["param"].(string); ok {
		gotParam = p
	} else if e["param"] != nil {
		t.Fatalf("param %v", e["param"])
	}
	if e["type"] != typ || e["code"] != code || gotParam != param {
		t.Fatalf("error %s, want type %s code %s param %q", r.Body, typ, code, param)
	}
	if r.Header.Get("Request-Id") == "" {
		t.Fatalf("no Request-Id on %s", r.Body)
	}
	return e
}

// count is the number of objects a list route answers (up to 100).
func count(t *testing.T, s *apitest.Server, key, path string) int {
	t.Helper()
	r := s.PaySmart(t, "GET", path+"?limit=100", key, nil)
	r.WantStatus(t, http.StatusOK)
	data, _ := obj(t, r)["data"].([]any)
	return len(data)
}

func num(t *testing.T, m map[string]any, k string) int64 {
	t.Helper()
	n, ok := m[k].(json.Number)
	if !ok {
		t.Fatalf("no number %q in %v", k, m)
	}
	var v int64
	fmt.Sscan(string(n), &v)
	return v
}

// grepDir fails the test if any file below dir holds one of secrets.
func grepDir(t *testing.T, dir string, secrets ...string) {
	t.Helper()
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, s := range secrets {
			if strings.Contains(string(data), s) {
				t.Errorf("%s holds %q", path, s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
