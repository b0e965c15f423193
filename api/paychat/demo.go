package paychat

import (
	"crypto/sha256"
	"fmt"
	"io"

	"ledgerd/actors"
	apc "ledgerd/actors/paychat"
	pc "ledgerd/engine/paychat"
)

// DemoFunds is what --demo deposits to its PAYchat partner: 1,000 USDT.
const DemoFunds = 1_000 * 1_000_000

// SeedDemo registers a fresh PAYchat partner (only key hashes are stored,
// so every --demo start makes a new one, like the PayShards demo partner),
// funds it with DemoFunds through a sandbox deposit and prints
//
//	export PAYCHAT_KEY=pk_…
//	export PAYCHAT_SECRET=sk_…
//
// on out (stdout, never the log).
func SeedDemo(sys *actors.System, out io.Writer, webhookKey []byte) error {
	suffix := newPartnerSuffix()
	p := pc.Partner{ID: pc.PrefixPartner + suffix, TelegramID: "9" + randomDigits(11), Name: "Demo PAYchat partner", Plan: pc.Plan,
		Memo: pc.PrefixMemo + suffix, CreatedMs: sys.Now().UnixMilli()}
	sk := SecretKey(webhookKey, p.ID, 0)
	h := sha256.Sum256([]byte(sk))
	p.SecretHash = h[:]
	if st, _ := apc.Register(sys, p); st != actors.StatusOK {
		return fmt.Errorf("paychat: demo partner: status %d", st)
	}
	key := newAPIKey()
	if _, err := sys.CreatePartner(p.ID, pc.API, p.Name, PlanLimit, newKeyRecord(key)); err != nil {
		return fmt.Errorf("paychat: demo partner: %w", err)
	}
	d := pc.Deposit{TxHash: "demo_" + randomString(alphabet36, 24), Memo: p.Memo, Amount: DemoFunds, Partner: p.ID}
	if _, st, _ := apc.Deposit(sys, d); st != actors.StatusOK {
		return fmt.Errorf("paychat: demo deposit: status %d", st)
	}
	_, err := fmt.Fprintf(out, "demo PAYchat partner %s (Telegram %s, memo %s) holds %s USDT\nexport PAYCHAT_KEY=%s\nexport PAYCHAT_SECRET=%s\n",
		p.ID, p.TelegramID, p.Memo, FormatAmount(DemoFunds), key, sk)
	return err
}

func randomDigits(n int) string { return randomString("0123456789", n) }
