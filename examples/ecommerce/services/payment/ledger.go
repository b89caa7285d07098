package payment

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// Entry is one line of the double-entry ledger: an amount booked to an account, a
// credit when positive and a debit when negative. Each account is one partition,
// its entries clustered by id; an entry id is derived from the payment, the kind and
// the side ("<payment id>/charge/debit"), so writing the same booking again writes
// the same rows.
//
// One partition per account keeps Balance a single-partition read, at the price of
// a partition that grows with every payment of its currency: a production ledger
// would bucket it (by day, say) and keep running balances.
type Entry struct {
	Account     string    `cql:"account" orm:"pk" json:"account"`
	EntryID     string    `cql:"entry_id" orm:"ck" json:"entry_id"`
	AmountCents int64     `cql:"amount_cents" json:"amount_cents"`
	Currency    string    `cql:"currency" json:"currency"`
	PaymentID   string    `cql:"payment_id" json:"payment_id"`
	Kind        string    `cql:"kind" json:"kind"`
	CreatedAt   time.Time `cql:"created_at" json:"created_at"`
}

// Entry kinds.
const (
	KindCharge = "charge"
	KindRefund = "refund"
)

// CustomerAccount is the account of what customers owe for payments in currency: a
// charge debits it, a refund credits it back.
func CustomerAccount(currency string) string { return "customer_receivable:" + currency }

// MerchantAccount is the merchant's revenue in currency: a charge credits it, a
// refund debits it. Its balance is the approved charges minus the refunds.
func MerchantAccount(currency string) string { return "merchant_revenue:" + currency }

// Accounts returns the ledger's accounts: the customer and merchant accounts of each
// accepted currency.
func (s *Service) Accounts() []string {
	var out []string
	for _, c := range s.cfg.Currencies {
		out = append(out, CustomerAccount(c), MerchantAccount(c))
	}
	return out
}

// Balance returns the sum of account's entries (0 for an account with none), for the
// tenant of ctx. It reads the account's whole partition.
func (s *Service) Balance(ctx context.Context, account string) (int64, error) {
	if account == "" {
		return 0, &ValidationError{Fields: map[string]string{"account": "is required"}}
	}
	var sum int64
	for e, err := range s.entries.Query().Where(orm.Eq("account", account)).Columns("amount_cents").All(ctx) {
		if err != nil {
			return 0, fmt.Errorf("payment: balance of account %q: %w", account, err)
		}
		sum += e.AmountCents
	}
	return sum, nil
}

// Balances returns the balance of every account of Accounts, for the tenant of ctx.
// Bookings are written in logged batches, so once they have all landed the balances
// of one currency sum to 0; a read racing a batch may see part of it.
func (s *Service) Balances(ctx context.Context) (map[string]int64, error) {
	out := make(map[string]int64, 2*len(s.cfg.Currencies))
	for _, a := range s.Accounts() {
		b, err := s.Balance(ctx, a)
		if err != nil {
			return nil, err
		}
		out[a] = b
	}
	return out, nil
}

// booking is one kind of ledger move of a payment: a pair of entries that sum to 0.
func booking(p Payment, kind string, at time.Time) []Entry {
	sign := int64(1) // a charge credits the merchant and debits the customer
	if kind == KindRefund {
		sign = -1
	}
	side := func(amount int64) string {
		if amount < 0 {
			return "debit"
		}
		return "credit"
	}
	merchant, customer := sign*p.AmountCents, -sign*p.AmountCents
	return []Entry{
		{Account: CustomerAccount(p.Currency), EntryID: p.PaymentID + "/" + kind + "/" + side(customer), AmountCents: customer,
			Currency: p.Currency, PaymentID: p.PaymentID, Kind: kind, CreatedAt: at},
		{Account: MerchantAccount(p.Currency), EntryID: p.PaymentID + "/" + kind + "/" + side(merchant), AmountCents: merchant,
			Currency: p.Currency, PaymentID: p.PaymentID, Kind: kind, CreatedAt: at},
	}
}

// record writes p and the bookings of kinds in one logged batch: all of it lands or
// none does. Every row has a key derived from p's id, so writing it again after an
// unknown outcome writes the same rows.
func (s *Service) record(ctx context.Context, p Payment, kinds ...string) error {
	b := s.db.NewBatch(orm.LoggedBatch, orm.BatchLimits{})
	err := s.payments.Batch(b).Insert(ctx, &p)
	for _, k := range kinds {
		for _, e := range booking(p, k, p.UpdatedAt) {
			err = errors.Join(err, s.entries.Batch(b).Insert(ctx, &e))
		}
	}
	if err == nil {
		err = b.Exec(ctx)
	}
	if err != nil {
		return fmt.Errorf("payment %q: record %s %v: %w", p.PaymentID, p.Status, kinds, err)
	}
	return nil
}
