package billing

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callflow/callflow/store"
)

// Accounts of the ledger. The organisation's credits are Available
// (spendable) or Reserved (held for calls in progress); the others are
// where credits come from and go to. Every transaction sums to zero.
const (
	Available = "org:available"
	Reserved  = "org:reserved"   // prefix: each call has its own, Reserved + ":" + call id
	Payments  = "world:payments" // credits bought come from here
	Calls     = "revenue:calls"
	Numbers   = "revenue:numbers"
	Storage   = "revenue:storage"
)

// Kinds of transaction.
const (
	KindPurchase   = "purchase"
	KindReserve    = "reserve"
	KindSettle     = "settle"
	KindNumberFee  = "number-fee"
	KindStorageFee = "storage-fee"
	KindRefund     = "refund"
	KindRelease    = "release"
)

// Clock tells the time. Tests inject one; the runtime uses SystemClock.
type Clock interface{ Now() time.Time }

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns the current time.
func (SystemClock) Now() time.Time { return time.Now() }

// PaymentProvider takes the money for a purchase (S3). It must be
// idempotent by key: charging a key again returns the first result.
type PaymentProvider interface {
	// Pay charges amount for a purchase and returns the provider's
	// reference for it.
	Pay(ctx context.Context, key string, amount Micro, user string) (reference string, err error)
}

// Invoice is the built-in payment provider: it takes no money, and the
// purchase is recorded in the ledger for the organisation's own invoicing.
// A card processor would be another PaymentProvider.
type Invoice struct{}

// Pay records nothing beyond the ledger's own entry.
func (Invoice) Pay(_ context.Context, key string, _ Micro, _ string) (string, error) {
	return "invoice:" + key, nil
}

// AutoRecharge is the organisation's auto-recharge setting (S4).
type AutoRecharge struct {
	Enabled   bool
	Threshold Micro
	Amount    Micro
}

// Ledger is the credits ledger of one organisation.
type Ledger struct {
	Store    *store.Store
	Clock    Clock
	Payments PaymentProvider
	// AutoRecharge is off for a partner organisation; the checker refuses
	// the setting there (S4).
	AutoRecharge AutoRecharge
	// LowBalance is the balance below which the administrator is notified,
	// once per crossing; 0 for never.
	LowBalance Micro

	// followUpMu serialises FollowUp; under it, clearSince is when the
	// outbox was last read and found empty (0 when it was not), so that a
	// debit that makes nothing due need not read it (a call's every minute
	// is a debit). Other ledgers — another process, the billing job — may
	// make work due meanwhile, so it is trusted for followUpEvery only.
	followUpMu sync.Mutex
	clearSince atomic.Int64 // unix nanoseconds
}

// followUpEvery is how long an empty outbox is trusted before a debit
// reads it again.
const followUpEvery = 10 * time.Second

// outboxClear reports whether the outbox was found empty lately.
func (l *Ledger) outboxClear() bool {
	since := l.clearSince.Load()
	return since != 0 && time.Since(time.Unix(0, since)) < followUpEvery
}

// ErrInsufficient is returned (wrapped) when a debit would take the
// available balance below zero.
var ErrInsufficient = errors.New("not enough credits")

// Balance returns the available and reserved credits.
func (l *Ledger) Balance(ctx context.Context) (available, reserved Micro, err error) {
	a, err := l.Store.Balance(ctx, Available)
	if err != nil {
		return 0, 0, err
	}
	held, err := l.Store.Balances(ctx, reservedPrefix)
	for _, b := range held {
		reserved += Micro(b)
	}
	return Micro(a), reserved, err
}

// Buy purchases amount credits for user through the payment provider
// (S3, S6). key makes it idempotent: buying with the same key again
// returns the first purchase.
func (l *Ledger) Buy(ctx context.Context, key string, amount Micro, user string) (store.Txn, error) {
	t, _, err := l.BuyOnce(ctx, key, amount, user)
	return t, err
}

// BuyOnce is Buy, and also reports whether the key had been bought with
// before (then nothing new was bought).
func (l *Ledger) BuyOnce(ctx context.Context, key string, amount Micro, user string) (store.Txn, bool, error) {
	if amount <= 0 {
		return store.Txn{}, false, fmt.Errorf("a purchase must be more than zero credits")
	}
	ref, err := l.Payments.Pay(ctx, key, amount, user)
	if err != nil {
		return store.Txn{}, false, fmt.Errorf("payment for %s credits: %w", amount, err)
	}
	return l.Store.Post(ctx, store.Txn{
		Key: key, Kind: KindPurchase, Actor: user, Memo: "bought " + amount.String() + " credits (" + ref + ")",
		CreatedAt: l.Clock.Now(),
		Postings:  []store.Posting{{Account: Payments, Amount: -int64(amount)}, {Account: Available, Amount: int64(amount)}},
	}, nil)
}

// debit moves amount from an organisation account to another account,
// refusing to take it below zero. When a debit from Available crosses the
// low-balance level or the auto-recharge threshold, the transaction also
// records what that makes due — a notification, a purchase — and those
// follow-ups are then done; one that fails is done by a later debit. It
// reports whether the debit was a replay of an earlier one.
func (l *Ledger) debit(ctx context.Context, key, kind, actor, memo string, from, to string, amount Micro) (store.Txn, bool, error) {
	return l.debitWith(ctx, nil, key, kind, actor, memo, from, to, amount)
}

// debitWith is debit with a call's record written in the same commit
// (nil for none).
func (l *Ledger) debitWith(ctx context.Context, call *store.Call, key, kind, actor, memo string, from, to string, amount Micro) (store.Txn, bool, error) {
	t, replay, err := l.post(ctx, call, key, kind, actor, memo, from, to, amount)
	if errors.Is(err, ErrInsufficient) && from == Available && !l.outboxClear() {
		// An auto-recharge that failed before is still due: do it now
		// and, if it bought credits, try once more, rather than refuse a
		// call the recharge would have paid for.
		if bought, _ := l.followUp(ctx); bought {
			return l.post(ctx, call, key, kind, actor, memo, from, to, amount)
		}
	}
	return t, replay, err
}

// post is one attempt of debit.
func (l *Ledger) post(ctx context.Context, call *store.Call, key, kind, actor, memo string, from, to string, amount Micro) (store.Txn, bool, error) {
	made := false // whether the debit made follow-ups due
	t, replay, err := l.Store.Post(ctx, store.Txn{
		Key: key, Kind: kind, Actor: actor, Memo: memo, CreatedAt: l.Clock.Now(), Call: call,
		Postings: []store.Posting{{Account: from, Amount: -int64(amount)}, {Account: to, Amount: int64(amount)}},
	}, func(balance func(string) (int64, error)) ([]store.FollowUp, error) {
		b, err := balance(from)
		if err != nil {
			return nil, err
		}
		if b < int64(amount) {
			where := "available"
			if from != Available {
				where = "held for it"
			}
			return nil, fmt.Errorf("%w: %s needs %s, and %s are %s", ErrInsufficient, memo, amount, Micro(b), where)
		}
		if from != Available {
			return nil, nil
		}
		due := l.crossings(key, Micro(b), Micro(b)-amount)
		made = len(due) > 0
		return due, nil
	})
	if err != nil {
		return t, replay, err
	}
	if made || !l.outboxClear() {
		l.FollowUp(ctx) // errors stay in the outbox for a later debit
	}
	return t, replay, nil
}

// Follow-up kinds.
const (
	followNotify   = "notify"   // payload: kind + "\n" + message
	followRecharge = "recharge" // payload: credits to buy
)

// crossings returns the follow-ups of a debit (keyed key) that takes the
// available balance from before to after.
func (l *Ledger) crossings(key string, before, after Micro) []store.FollowUp {
	var out []store.FollowUp
	if low := l.LowBalance; low > 0 && before >= low && after < low {
		msg := fmt.Sprintf("The balance is %s credits, below %s.", after, low)
		if !l.AutoRecharge.Enabled {
			msg += " Buy credits (callflow credits buy N) before calls stop."
		}
		out = append(out, store.FollowUp{Key: "low-balance:" + key, Kind: followNotify, Payload: "low-balance\n" + msg})
	}
	if ar := l.AutoRecharge; ar.Enabled && ar.Amount > 0 && before >= ar.Threshold && after < ar.Threshold {
		out = append(out, store.FollowUp{Key: "auto-recharge:" + key, Kind: followRecharge, Payload: ar.Amount.String()})
	}
	return out
}

// FollowUp does the follow-ups that earlier debits made due and that are
// not done yet: auto-recharge purchases (S4) and notifications. Each is
// keyed, so doing one twice has no effect; one that fails stays due. The
// server also calls it when it starts.
func (l *Ledger) FollowUp(ctx context.Context) error {
	_, err := l.followUp(ctx)
	return err
}

// followUp is FollowUp; it also reports whether it bought credits.
func (l *Ledger) followUp(ctx context.Context) (bought bool, _ error) {
	l.followUpMu.Lock()
	defer l.followUpMu.Unlock()
	l.clearSince.Store(0) // until the outbox is found empty
	due, err := l.Store.Outbox(ctx)
	if err != nil {
		return false, err
	}
	if len(due) == 0 {
		l.clearSince.Store(time.Now().UnixNano())
	}
	// Anything that fails below stays due, and the next debit reads the
	// outbox again.
	var first error
	for _, f := range due {
		var err error
		switch f.Kind {
		case followNotify:
			kind, msg, _ := strings.Cut(f.Payload, "\n")
			err = l.Store.Notify(ctx, kind, msg, f.Key)
		case followRecharge:
			var amount Micro
			if amount, err = ParseCredits(f.Payload); err == nil {
				if _, err = l.Buy(ctx, f.Key, amount, "auto-recharge"); err == nil {
					bought = true
					err = l.Store.Notify(ctx, "auto-recharge", fmt.Sprintf("The balance fell below %s credits, so %s credits were bought automatically.", l.AutoRecharge.Threshold, amount), f.Key)
				} else {
					_ = l.Store.Notify(ctx, "auto-recharge-failed", fmt.Sprintf("Auto-recharge of %s credits failed, and will be tried again: %v", amount, err), "failed:"+f.Key)
				}
			}
		}
		if err == nil {
			err = l.Store.FollowUpDone(ctx, f.Key)
		}
		if err != nil && first == nil {
			first = err
		}
	}
	return bought, first
}
