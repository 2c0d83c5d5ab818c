package billing

import (
	"context"
	"errors"
	"fmt"
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
	if amount <= 0 {
		return store.Txn{}, fmt.Errorf("a purchase must be more than zero credits")
	}
	ref, err := l.Payments.Pay(ctx, key, amount, user)
	if err != nil {
		return store.Txn{}, fmt.Errorf("payment for %s credits: %w", amount, err)
	}
	t, _, err := l.Store.Post(ctx, store.Txn{
		Key: key, Kind: KindPurchase, Actor: user, Memo: "bought " + amount.String() + " credits (" + ref + ")",
		CreatedAt: l.Clock.Now(),
		Postings:  []store.Posting{{Account: Payments, Amount: -int64(amount)}, {Account: Available, Amount: int64(amount)}},
	}, nil)
	return t, err
}

// debit moves amount from an organisation account to another account,
// refusing to take Available below zero, and then recharges if the debit
// crossed the auto-recharge threshold.
func (l *Ledger) debit(ctx context.Context, key, kind, actor, memo string, from, to string, amount Micro) (store.Txn, bool, error) {
	var before int64
	t, replay, err := l.Store.Post(ctx, store.Txn{
		Key: key, Kind: kind, Actor: actor, Memo: memo, CreatedAt: l.Clock.Now(),
		Postings: []store.Posting{{Account: from, Amount: -int64(amount)}, {Account: to, Amount: int64(amount)}},
	}, func(balance func(string) (int64, error)) error {
		b, err := balance(from)
		if err != nil {
			return err
		}
		if from == Available {
			before = b
		}
		if b < int64(amount) {
			where := "available"
			if from != Available {
				where = "held for it"
			}
			return fmt.Errorf("%w: %s needs %s, and %s are %s", ErrInsufficient, memo, amount, Micro(b), where)
		}
		return nil
	})
	if err != nil || replay || from != Available {
		return t, replay, err
	}
	after := Micro(before) - amount
	if l.LowBalance > 0 && Micro(before) >= l.LowBalance && after < l.LowBalance {
		msg := fmt.Sprintf("The balance is %s credits, below %s.", after, l.LowBalance)
		if !l.AutoRecharge.Enabled {
			msg += " Buy credits (callflow credits buy N) before calls stop."
		}
		if err := l.Store.Notify(ctx, "low-balance", msg, fmt.Sprintf("low-balance:%d", t.ID)); err != nil {
			return t, false, err
		}
	}
	return t, false, l.rechargeOnCrossing(ctx, t, Micro(before), after)
}

// rechargeOnCrossing buys the auto-recharge amount when the debit t took
// the available balance from at or above the threshold to below it. The
// purchase is keyed by the debit, so it happens once per crossing, however
// often the debit is retried.
func (l *Ledger) rechargeOnCrossing(ctx context.Context, t store.Txn, before, after Micro) error {
	ar := l.AutoRecharge
	if !ar.Enabled || ar.Amount <= 0 || !(before >= ar.Threshold && after < ar.Threshold) {
		return nil
	}
	key := fmt.Sprintf("auto-recharge:%d", t.ID)
	if _, err := l.Buy(ctx, key, ar.Amount, "auto-recharge"); err != nil {
		_ = l.Store.Notify(ctx, "auto-recharge-failed", fmt.Sprintf("Auto-recharge of %s credits failed: %v", ar.Amount, err), key)
		return nil // the debit stands; the notification says why no credits came
	}
	return l.Store.Notify(ctx, "auto-recharge", fmt.Sprintf("The balance fell below %s credits, so %s credits were bought automatically.", ar.Threshold, ar.Amount), key)
}
