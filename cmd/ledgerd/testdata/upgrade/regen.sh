#!/usr/bin/env bash
# regen.sh <commit> — make the golden data dir of a released format.
#
# Builds ledgerd at <commit> (a hash: tags may not travel) in a temporary
# git worktree, runs it on a fresh data dir on a loopback port with a
# snapshot every 10 events, drives it over HTTP (PayShards and PayPay.cards
# partners, top-ups, deducts, refunds, codes, validates, redeems with
# Idempotency-Key, a revoked code, an inactive partner), waits for two
# snapshots with WAL entries after the last one, kills it with -9 and
# copies the data dir to testdata/upgrade/v<N>/ with expected.json: the
# test-only keys, the balances, and every request with its responses.
#
#   cmd/ledgerd/testdata/upgrade/regen.sh f70ef7c          # -> v2/ (data-v2)
#   OUT=v3 cmd/ledgerd/testdata/upgrade/regen.sh <commit>  # a later format
#
# Needs go, git, python3 (standard library only). The admin token and API
# keys are made here for the golden dir only; they protect nothing.
set -euo pipefail

commit=${1:?usage: regen.sh <commit>}
here=$(cd "$(dirname "$0")" && pwd)
out=$here/${OUT:-v2}
repo=$(git -C "$here" rev-parse --show-toplevel)
full=$(git -C "$repo" rev-parse --verify "$commit^{commit}")
tmp=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
	git -C "$repo" worktree remove --force "$tmp/src" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

git -C "$repo" worktree add --detach --quiet "$tmp/src" "$full"
(cd "$tmp/src" && go build -o "$tmp/ledgerd" ./cmd/ledgerd)

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export LEDGERD_ADMIN_TOKEN=adm_upgrade_golden_test_only
env -u LEDGERD_DATA -u LEDGERD_LISTEN LEDGERD_ADMIN_TOKEN=$LEDGERD_ADMIN_TOKEN \
	"$tmp/ledgerd" --data "$tmp/data" --listen "127.0.0.1:$port" \
	--snapshot-every 10 --snapshot-fixed --log-level info >"$tmp/ledgerd.log" 2>&1 &
pid=$!

python3 - "http://127.0.0.1:$port" "$LEDGERD_ADMIN_TOKEN" "$full" "$tmp/data/snapshots" "$tmp/expected.json" <<'PY'
import json, os, sys, time, urllib.request, urllib.error

base, token, commit, snapdir, outpath = sys.argv[1:]
admin = {"Authorization": "Bearer " + token}

def call(method, path, headers=None, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()

for _ in range(200):
    try:
        call("GET", "/payshards/api/partner/balance?userId=probe")
        break
    except OSError:
        time.sleep(0.05)
else:
    sys.exit("ledgerd did not come up")

def partner(api, name, rate):
    return json.loads(expect(call("POST", "/admin/partners", admin, {"api": api, "name": name, "rateLimitPerMinute": rate}), 201))

def expect(resp, want):
    status, body = resp
    if status != want:
        sys.exit(f"status {status}, want {want}: {body}")
    return body

requests = []  # every replayable request: its first response and its replay

def replayable(method, path, headers, body, note):
    s1, r1 = call(method, path, headers, body)
    s2, r2 = call(method, path, headers, body)
    requests.append({"note": note, "method": method, "path": path, "headers": headers, "body": body,
                     "first": {"status": s1, "body": r1}, "replay": {"status": s2, "body": r2}})
    return s1, r1

ps = partner("payshards", "Golden shop", 600)
ps2 = partner("payshards", "Golden shop two", 600)
pp = partner("paypay", "Golden cards", 600)
pp_off = partner("paypay", "Golden cards, suspended", 600)
hs = lambda p: {"x-api-key": p["apiKey"]}
hp = lambda p: {"Authorization": "Bearer " + p["apiKey"]}

users = ["u_alice", "u_bob", "u_carol"]
for i, u in enumerate(users):
    replayable("POST", f"/admin/payshards/users/{u}/credit", admin, {"amount": 1000 * (i + 1), "reference": f"topup_{u}_1"}, "top-up")

def snapshots():
    return sorted(n for n in os.listdir(snapdir) if n.endswith(".snap")) if os.path.isdir(snapdir) else []

codes = json.loads(expect(call("POST", f"/admin/paypay/partners/{pp['id']}/codes", admin,
    {"count": 4, "tier": "month", "entitlement_label": "1 month", "expires_at": "2099-01-01T00:00:00.000Z"}), 201))["codes"]
codes_off = json.loads(expect(call("POST", f"/admin/paypay/partners/{pp_off['id']}/codes", admin,
    {"count": 1, "tier": "week", "entitlement_label": "1 week", "expires_at": "2099-01-01T00:00:00.000Z"}), 201))["codes"]

n = 0
def round_of_payshards(tag):
    global n
    for u in users:
        n += 1
        replayable("POST", "/payshards/api/partner/deduct", hs(ps), {"userId": u, "amount": 7 * n, "reference": f"ord_{tag}_{u}"}, "deduct")
    replayable("POST", "/payshards/api/partner/deduct", hs(ps2), {"userId": "u_alice", "amount": 100000, "reference": f"big_{tag}"}, "deduct over balance")
    replayable("POST", "/payshards/api/partner/refund", hs(ps), {"userId": "u_bob", "amount": 3, "reference": f"rf_{tag}"}, "refund")
    replayable("POST", "/payshards/api/partner/refund", hs(ps2), {"userId": "u_carol", "amount": 5, "reference": f"rf2_{tag}"}, "refund beyond deducted")
    replayable("POST", "/payshards/api/partner/deduct", hs(ps), {"userId": "u_nobody", "amount": 1, "reference": f"nobody_{tag}"}, "deduct unknown user")

round_of_payshards("a")
call("POST", "/paypay/api/v1/validate", hp(pp), {"code": codes[0]})
replayable("POST", "/paypay/api/v1/redeem", {**hp(pp), "Idempotency-Key": "idem-golden-1"}, {"code": codes[0]}, "redeem")
expect(call("POST", f"/admin/paypay/codes/{codes[1]}/revoke", admin, {}), 200)
replayable("POST", "/paypay/api/v1/redeem", {**hp(pp), "Idempotency-Key": "idem-golden-2"}, {"code": codes[1]}, "redeem revoked code")
replayable("POST", "/paypay/api/v1/redeem", {**hp(pp), "Idempotency-Key": "idem-golden-3"}, {"code": codes[0]}, "redeem already redeemed")
call("POST", "/paypay/api/v1/validate", hp(pp), {"code": "PP-NOPE-NOPE-NOPE"})
round_of_payshards("b")
expect(call("PATCH", f"/admin/partners/{pp_off['id']}", admin, {"status": "inactive"}), 200)
replayable("POST", "/paypay/api/v1/redeem", {**hp(pp_off), "Idempotency-Key": "idem-golden-4"}, {"code": codes_off[0]}, "redeem by inactive partner")
replayable("POST", "/paypay/api/v1/redeem", {**hp(pp), "Idempotency-Key": "idem-golden-5"}, {"code": codes[2]}, "redeem")
round_of_payshards("c")

def settled():  # snapshots are written in the background
    seen = snapshots()
    time.sleep(0.5)
    return seen if snapshots() == seen else settled()

if len(settled()) < 2:
    sys.exit(f"snapshots: {snapshots()}")
# Then entries after the newest snapshot, to be replayed from the WAL: one
# by one until two went in without a snapshot after them.
after = 0
for i in range(40):
    last = settled()[-1]
    if i % 2 == 0:
        replayable("POST", "/payshards/api/partner/deduct", hs(ps), {"userId": "u_alice", "amount": 11, "reference": f"after_{i}"}, "deduct near the end")
    else:
        replayable("POST", "/admin/payshards/users/u_dave/credit", admin, {"amount": 50, "reference": f"topup_after_{i}"}, "top-up near the end")
    after = after + 1 if settled()[-1] == last else 0
    if after == 2:
        break
else:
    sys.exit("no quiet end after the last snapshot")

balances = {}
for u in users + ["u_dave", "u_nobody"]:
    s, b = call("GET", f"/payshards/api/partner/balance?userId={u}", hs(ps))
    balances[u] = {"status": s, "body": b}
expected = {
    "commit": commit,
    "note": "made by regen.sh; the admin token and API keys are test-only, for this golden dir",
    "admin_token": token,
    "partners": {"payshards": ps, "payshards2": ps2, "paypay": pp, "paypay_inactive": pp_off},
    "codes": codes + codes_off,
    "snapshots": settled(),
    "balances": balances,
    "requests": requests,
}
with open(outpath, "w") as f:
    json.dump(expected, f, indent=1, sort_keys=True)
    f.write("\n")
PY

kill -9 "$pid"
wait "$pid" 2>/dev/null || true
pid=
rm -rf "$out"
mkdir -p "$out"
cp -r "$tmp/data/wal" "$tmp/data/snapshots" "$out/"
cp "$tmp/expected.json" "$out/expected.json"
echo "golden data dir of $full in $out:"
(cd "$out" && find . -type f | sort | xargs ls -l)
