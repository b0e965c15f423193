# ledgerd — make targets. Each one fetches what it needs through the Go
# module proxy (go downloads modules on first build).

GO        ?= go
DATA      ?= ./data
LISTEN    ?= :8080
BIN       := bin
FUZZTIME  ?= 30s
BENCHTIME ?= 2s

.PHONY: chromium paychat-node run build test test-short bench bench-inprocess bench-http bench-checkout bench-hot bench-paysmart bench-paychat bench-apis bench-compare bench-recovery bench-wallets crash-soak fuzz vet fmt clean

## run: the server on the embedded defaults (data dir ./data, port 8080), with a demo partner
run: build
	$(BIN)/ledgerd --data $(DATA) --listen $(LISTEN) --demo

## build: the server binary in bin/
build:
	$(GO) build -o $(BIN)/ledgerd ./cmd/ledgerd

## test: formatting, vet, and every test (race detector on), fuzz seed corpora included; installs
## Debian's chromium for the checkout browser test when it is missing
test: chromium paychat-node
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 15m ./...

## chromium: the headless browser of the checkout page's test (api/checkout), from Debian
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "chromium not found: installing the Debian package chromium for the checkout browser test"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update && apt-get install -y chromium; \
	  else sudo apt-get update && sudo apt-get install -y chromium; fi; }

## paychat-node: express for the PAYchat webhook test (the spec's own receiver under Node.js), from npm
paychat-node:
	@[ -d api/paychat/testdata/node/node_modules/express ] || { command -v npm >/dev/null 2>&1 && \
	  (cd api/paychat/testdata/node && npm ci --no-audit --no-fund); } || echo "npm not found: the PAYchat Node.js checks will skip"

## bench: in-process and WAL benchmarks (figures in README's performance section)
bench:
	$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) -benchmem ./engine/... ./wal/ ./actors/... ./api/...

## bench-inprocess: every API's main write through ledgerd's whole handler, no sockets, no fsync (bench/inproc_test.go; ns/op over 2 cores is CPU per answer less the socket calls)
bench-inprocess:
	$(GO) test -run '^$$' -bench BenchmarkAPIsInProcess -benchtime 200000x -count 3 ./bench/

## bench-http: ledgerd vs the durable floor (run before and after it) and the bare-fasthttp ceiling over HTTP (ledgerbench; reports in bench/out/)
bench-http: build
	$(GO) build -o $(BIN)/ledgerbench ./cmd/ledgerbench
	$(BIN)/ledgerbench run --scenario payshards-deduct --conns 64 --duration 10s --targets floor,ledgerd,ceiling --ledgerd-bin $(BIN)/ledgerd $(BENCH_ARGS)

## bench-checkout: hosted-checkout payment creation (an Idempotency-Key each), vs the floor and the ceiling
bench-checkout: build
	$(GO) build -o $(BIN)/ledgerbench ./cmd/ledgerbench
	$(BIN)/ledgerbench run --scenario checkout-create --conns 64 --duration 10s --targets floor,ledgerd,ceiling --ledgerd-bin $(BIN)/ledgerd $(BENCH_ARGS)

## bench-hot: every deduct on one wallet, vs the floor and the ceiling
bench-hot: build
	$(GO) build -o $(BIN)/ledgerbench ./cmd/ledgerbench
	$(BIN)/ledgerbench run --scenario hot-wallet --conns 64 --duration 10s --targets floor,ledgerd,ceiling --ledgerd-bin $(BIN)/ledgerd $(BENCH_ARGS)

## bench-apis: every API's main write vs the floor and the ceiling, a deduct before and after (issue 13's table; bench/out/apis-*/apis.md)
bench-apis: build
	$(GO) build -o $(BIN)/ledgerbench ./cmd/ledgerbench
	$(BIN)/ledgerbench apis --ledgerd-bin $(BIN)/ledgerd $(BENCH_ARGS)

## bench-paysmart: PaySmart payment creates (the 4242 card, unique Idempotency-Keys), vs the floor and the ceiling
bench-paysmart: build
	$(GO) build -o $(BIN)/ledgerbench ./cmd/ledgerbench
	$(BIN)/ledgerbench run --scenario paysmart-payment --conns 64 --duration 10s --targets floor,ledgerd,ceiling --ledgerd-bin $(BIN)/ledgerd $(BENCH_ARGS)

## bench-paychat: PAYchat withdrawals from one partner (the hot account), then payment links, vs the floor and the ceiling
bench-paychat: build
	$(GO) build -o $(BIN)/ledgerbench ./cmd/ledgerbench
	$(BIN)/ledgerbench run --scenario paychat-withdrawal --conns 64 --duration 10s --targets floor,ledgerd,ceiling --ledgerd-bin $(BIN)/ledgerd $(BENCH_ARGS)
	$(BIN)/ledgerbench run --scenario paychat-payment --conns 64 --duration 10s --targets floor,ledgerd,ceiling --ledgerd-bin $(BIN)/ledgerd $(BENCH_ARGS)

## bench-compare: ledgerd vs PostgreSQL (bench/pgref, installed from Debian if missing) vs the ceiling
bench-compare:
	bash bench/compare.sh $(BENCH_ARGS)

## bench-recovery: cold start of a 2M-event WAL
bench-recovery:
	$(GO) run ./cmd/ledgerbench recovery $(BENCH_ARGS)

## bench-wallets: memory per wallet, 1M wallets of which 10k active
bench-wallets:
	$(GO) run ./cmd/ledgerbench wallets $(BENCH_ARGS)

CYCLES ?= 100
## crash-soak: CYCLES rounds of load, kill -9, ledgerd verify, restart and retry, for PayShards, PayPay.cards, PaySmart, PAYchat and hosted checkout (with their webhooks)
crash-soak:
	LEDGERD_CRASH_CYCLES=$(CYCLES) $(GO) test -run 'TestCrashRecoveryKill9|TestPayPayCrashRecoveryKill9|TestPaySmartCrashRecoveryKill9|TestPayChatCrashRecoveryKill9|TestCheckoutCrashRecoveryKill9' -count=1 -v -timeout 120m ./cmd/ledgerd/

## fuzz: each Fuzz target for FUZZTIME
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(BIN)
