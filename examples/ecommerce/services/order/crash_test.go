package order_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/cardnet"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/inventory"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/order"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/payment"
	"github.com/cassandraorm/cassandraorm-go/internal/crashtest"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/saga"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// What the worker processes of TestOrderCrashRecovery read.
const (
	crashKSEnv        = "ORDER_CRASH_KEYSPACE"
	crashInventoryEnv = "ORDER_CRASH_INVENTORY_URL"
	crashPaymentEnv   = "ORDER_CRASH_PAYMENT_URL"
)

const (
	crashStepTimeout = 3 * time.Second
	crashLease       = 2 * time.Second
	crashSeed        = 20261203
	crashProducts    = 6
	crashPlenty      = 400 // units of products 0 to 3 (per tenant); 4 and 5 are scarce
	crashScarce      = 20
)

// crashPlan is how order number i of the crash test goes: what it buys, with
// which card, and what the worker processes do to its calls. The parent and the
// workers compute it alike from i.
type crashPlan struct {
	Tenant  string
	Items   []order.Item // product ids are indexes ("0" to "5") until the parent names them
	Decline bool         // a card the network declines
	TooMany bool         // its first item asks for more than the product has: validate_inventory refuses
	// Refuse is a step whose call the worker refuses (409) before it reaches the
	// participant; HangFirst a step whose first attempt's answer is lost after the
	// participant acted (the attempt outlives its timeout), HangAll one where every
	// attempt's is.
	Refuse, HangFirst, HangAll string
}

func crashPlanOf(i int) crashPlan {
	rng := rand.New(rand.NewPCG(crashSeed, uint64(i)))
	p := crashPlan{Tenant: []string{"north", "south"}[i%2]}
	products := rng.Perm(crashProducts)[:1+rng.IntN(3)]
	for _, pr := range products {
		p.Items = append(p.Items, order.Item{ProductID: strconv.Itoa(pr), Quantity: 1 + rng.IntN(3), PriceCents: int64(100 * (1 + pr))})
	}
	p.Decline = rng.IntN(10) == 0
	if rng.IntN(25) == 0 {
		p.Items[0].Quantity = crashPlenty + 1
		p.TooMany = true
	}
	http := []string{"validate_inventory", "reserve_inventory", "process_payment", "update_inventory"}
	switch r := rng.IntN(100); {
	case r < 4:
		p.Refuse = "update_inventory"
	case r < 14:
		p.HangFirst = http[rng.IntN(len(http))]
	case r < 18:
		p.HangAll = http[1+rng.IntN(len(http)-1)]
	}
	return p
}

// crashIndex is the number of order id "<prefix>-<i>".
func crashIndex(orderID string) (int, error) {
	i, err := strconv.Atoi(orderID[strings.LastIndexByte(orderID, '-')+1:])
	if err != nil {
		return 0, fmt.Errorf("crash test: order id %q has no number: %w", orderID, err)
	}
	return i, nil
}

// crashTransport is a worker's HTTP transport to the participants: it carries
// out the plans' refusals and lost answers, and kills the process after a
// participant's answer when that is its kill point.
type crashTransport struct{ kill *crashtest.Killer }

func (c crashTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	k, ok := saga.KeyFrom(req.Context())
	if !ok {
		return nil, fmt.Errorf("crash test: %s %s without a saga key", req.Method, req.URL)
	}
	i, err := crashIndex(k.Saga)
	if err != nil {
		return nil, err
	}
	p := crashPlanOf(i)
	if k.Direction == saga.Do && p.Refuse == k.Step {
		return &http.Response{StatusCode: http.StatusConflict, Status: "409 Conflict", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{}, Body: io.NopCloser(strings.NewReader("refused by the crash test")), Request: req}, nil
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	c.kill.At(crashtest.Point(k.Step, k.Direction, "after"))
	if k.Direction == saga.Do && (p.HangAll == k.Step || p.HangFirst == k.Step && k.Attempt == 1) {
		_ = resp.Body.Close()
		<-req.Context().Done()
		return nil, req.Context().Err()
	}
	return resp, nil
}

// crashConfig is the order service's configuration in the crash test; its
// workers add their transport and kill points.
func crashConfig(inventoryURL, paymentURL string) order.Config {
	timeouts := map[string]time.Duration{}
	for _, st := range order.Steps() {
		timeouts[st.Name] = crashStepTimeout
	}
	return order.Config{InventoryURL: inventoryURL, PaymentURL: paymentURL, Timeouts: timeouts,
		Saga: saga.Config{Table: "order_crash", Shards: 8, MaxShards: 6, LeaseTTL: crashLease, Poll: 50 * time.Millisecond, Lag: 500 * time.Millisecond}}
}

// TestOrderCrashHelper is not a test: TestOrderCrashRecovery runs the test binary
// as order-saga worker processes (package crashtest), and this is one.
func TestOrderCrashHelper(t *testing.T) {
	kill, ctx, ok := crashtest.Worker()
	if !ok {
		return
	}
	// A step's own writes (create_order's order row, send_confirmation's
	// notification) are its effect: the kill point "after" comes after the first.
	afterWrite := orm.ObserverFunc(func(ctx context.Context, e orm.QueryEvent) {
		if k, ok := saga.KeyFrom(ctx); ok && e.Err == nil && (e.Table == "orders" || e.Table == "notifications") {
			kill.At(crashtest.Point(k.Step, k.Direction, "after"))
		}
	})
	base, err := orm.Open(ctx, orm.Config{Hosts: env.Hosts(), Keyspace: os.Getenv(crashKSEnv), Observer: afterWrite})
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	db, err := base.WithTenancy(orm.Tenancy{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := crashConfig(os.Getenv(crashInventoryEnv), os.Getenv(crashPaymentEnv))
	cfg.HTTPClient = &http.Client{Transport: crashTransport{kill}}
	cfg.Saga.Observe = func(_ context.Context, e saga.Event) {
		if e.Kind == "attempt" {
			kill.At(crashtest.Point(e.Step, e.Direction, "before"))
		}
	}
	svc, err := order.New(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	_ = svc.Run(ctx)
}

// history is order id's saga history, a line per entry, for a failure message.
func history(ctx context.Context, orders *order.Service, id string) string {
	h, err := orders.Processing.History(ctx, id)
	if err != nil {
		return "\n  (no history: " + err.Error() + ")"
	}
	var b strings.Builder
	for _, e := range h {
		fmt.Fprintf(&b, "\n  %s v%d %s %s/%s #%d took %s owner %s: %s", e.At.Format("15:04:05.000"), e.Version, e.Event, e.Step, e.Direction, e.Attempt, e.Took, e.Owner, e.Error)
	}
	return b.String()
}

// Reliability scenario 4 on the real order flow: order-saga workers run as
// processes killed with SIGKILL at every step and every compensation, before and
// after the participant's effect, and paused past their lease, over 200 orders
// of two tenants with declined cards, products running out, refused and timed-out
// calls. The inventory, payment and card network services run in this process.
// Every order ends confirmed or compensated, and every effect happened once:
// the stock, the reservations, the payments, the ledger and the network's
// charges add up exactly to the confirmed orders.
func TestOrderCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes for a minute or more")
	}
	ctx := t.Context()
	ps := startParticipants(t, cardnet.Config{Seed: crashSeed, OutageRate: 0.03, Jitter: 20 * time.Millisecond})
	db, network, payments, stock, inventoryURL, paymentURL := ps.db, ps.network, ps.payments, ps.inventory, ps.inventoryURL, ps.paymentURL
	orders, err := order.New(db, crashConfig(inventoryURL, paymentURL)) // places orders; runs none
	if err != nil {
		t.Fatal(err)
	}
	if err := orders.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	tenants := []string{"north", "south"} // not the other tests': the ledger is per tenant

	run := orm.NewUUID().String()[:8]
	product := func(i string) string { return "crash-" + run + "-p" + i }
	initial := map[string]int{}
	for _, tid := range tenants {
		for i := range crashProducts {
			n := crashPlenty
			if i >= 4 {
				n = crashScarce
			}
			if _, err := stock.SetStock(tenant.With(ctx, tid), product(strconv.Itoa(i)), n); err != nil {
				t.Fatal(err)
			}
			initial[strconv.Itoa(i)] = n
		}
	}
	// The ledger's accounts are the tenant's, not the run's: what they held before.
	revenueBefore := map[string]int64{}
	for _, tid := range tenants {
		b, err := payments.Balance(tenant.With(ctx, tid), payment.MerchantAccount("EUR"))
		if err != nil {
			t.Fatal(err)
		}
		revenueBefore[tid] = b
	}
	const n = 200
	ids := make([]string, n)
	plans := make([]crashPlan, n)
	placed := 0
	// place places the next k orders: they are placed a few at a time while the
	// workers die, so that sagas are at every step when each kill point is handed out.
	place := func(k int) error {
		for ; k > 0 && placed < n; k-- {
			i := placed
			plans[i] = crashPlanOf(i)
			for j := range plans[i].Items {
				plans[i].Items[j].ProductID = product(plans[i].Items[j].ProductID)
			}
			card := cardnet.CardApprove
			if plans[i].Decline {
				card = cardnet.CardDecline
			}
			ids[i] = fmt.Sprintf("crash-%s-%03d", run, i)
			if err := orders.Place(tenant.With(ctx, plans[i].Tenant), order.PlaceOrder{OrderID: ids[i], UserID: "ada", Items: plans[i].Items, Currency: "EUR", Card: card}); err != nil {
				return err
			}
			placed++
		}
		return nil
	}
	if err := place(20); err != nil {
		t.Fatal(err)
	}

	var steps []string
	for _, st := range order.Steps() {
		steps = append(steps, st.Name)
	}
	// Every step and every compensation (validate_inventory and send_confirmation
	// have none), before and after the participant's effect.
	var kills []string
	for _, k := range crashtest.Points(steps...) {
		if !strings.HasPrefix(k, "validate_inventory/undo/") && !strings.HasPrefix(k, "send_confirmation/undo/") {
			kills = append(kills, k)
		}
	}
	pool := crashtest.Start(t, crashtest.Config{Helper: "TestOrderCrashHelper", Kills: kills, PauseEvery: 3 * time.Second, PauseFor: 2 * crashLease,
		Env: []string{crashKSEnv + "=" + env.Keyspace(), crashInventoryEnv + "=" + inventoryURL, crashPaymentEnv + "=" + paymentURL}})
	views := make([]order.View, n)
	pool.Until(t, 4*time.Minute, func() (bool, string, error) {
		if err := place(3); err != nil {
			return false, "", err
		}
		final := 0
		for i, id := range ids[:placed] {
			if !views[i].SagaStatus.Final() {
				v, err := orders.Get(tenant.With(ctx, plans[i].Tenant), id)
				if err != nil {
					return false, "", err
				}
				views[i] = v
			}
			if views[i].SagaStatus.Final() {
				final++
			}
		}
		progress := fmt.Sprintf("%d of %d orders placed, %d final", placed, n, final)
		if placed-final <= 3 {
			for i, id := range ids[:placed] {
				if !views[i].SagaStatus.Final() {
					progress += fmt.Sprintf("\n%s (plan %+v) is %s at %s:%s", id, plans[i], views[i].SagaStatus, views[i].Step, history(tenant.With(ctx, plans[i].Tenant), orders, id))
				}
			}
		}
		return final == n, progress, nil
	})
	reached, missed, paused := pool.Stop()
	t.Logf("%d workers killed themselves at their kill point, %d kill points not reached %q; workers were paused past their lease %d times",
		len(reached), len(missed), missed, paused)
	// A kill point handed to a worker whose sagas never got there does not count;
	// most must have been reached.
	if len(reached) < len(kills)/2 {
		t.Errorf("only %d of %d kill points were reached", len(reached), len(kills))
	}

	// Each order's end, against its plan.
	counts := map[string]int{}
	sold := map[string]map[string]int{} // tenant → product → units sold
	revenue := map[string]int64{}       // tenant → cents
	var charged int64
	for i, id := range ids {
		p, v := plans[i], views[i]
		counts[string(v.SagaStatus)]++
		scarce := false
		for _, it := range p.Items {
			scarce = scarce || strings.HasSuffix(it.ProductID, "-p4") || strings.HasSuffix(it.ProductID, "-p5")
		}
		// The planned failure that comes first; a scarce product may run out before.
		expected := ""
		for _, st := range steps {
			if expected == "" && (p.TooMany && st == "validate_inventory" || p.Decline && st == "process_payment" || st == p.Refuse || st == p.HangAll) {
				expected = st
			}
		}
		outOfStock := scarce && (strings.HasPrefix(v.Reason, "step validate_inventory: ") || strings.HasPrefix(v.Reason, "step reserve_inventory: ")) &&
			strings.Contains(v.Reason, ": 409 ")
		switch {
		case v.SagaStatus == saga.Completed && expected != "":
			t.Errorf("order %s (plan %+v) was confirmed", id, p)
		case v.SagaStatus == saga.Completed:
		case v.SagaStatus != saga.Compensated:
			t.Errorf("order %s (plan %+v) ended %s: %s", id, p, v.SagaStatus, v.Reason)
		case outOfStock:
		case expected != "" && !strings.Contains(v.Reason, "step "+expected+": "):
			t.Errorf("order %s (plan %+v) should fail at %s but compensated for: %s", id, p, expected, v.Reason)
		case expected != "":
		case strings.Contains(v.Reason, saga.ErrStepTimeout.Error()):
			// Its workers died in every attempt of a step: a timed-out step may
			// have run, and compensating it is right.
			t.Logf("order %s has no planned failure and compensated after timeouts: %s", id, v.Reason)
		default:
			t.Errorf("order %s (plan %+v) has no planned failure but compensated: %s%s", id, p, v.Reason, history(tenant.With(ctx, p.Tenant), orders, id))
		}
		tctx := tenant.With(ctx, p.Tenant)
		pay, perr := payments.Get(tctx, order.PaymentID(id))
		if perr != nil && !errors.Is(perr, orm.ErrNotFound) {
			t.Fatal(perr)
		}
		if v.SagaStatus == saga.Completed {
			if v.Order == nil || v.Order.Status != order.StatusConfirmed {
				t.Errorf("confirmed order %s: its row is %+v", id, v.Order)
			}
			if perr != nil || pay.Status != payment.StatusApproved || pay.AmountCents != v.Order.TotalCents {
				t.Errorf("confirmed order %s: payment %+v, %v", id, pay, perr)
			}
			revenue[p.Tenant] += v.Order.TotalCents
			charged += v.Order.TotalCents
			if sold[p.Tenant] == nil {
				sold[p.Tenant] = map[string]int{}
			}
			for _, it := range p.Items {
				sold[p.Tenant][it.ProductID] += it.Quantity
			}
		} else {
			if v.Order != nil && v.Order.Status != order.StatusCancelled {
				t.Errorf("compensated order %s: its row is %s", id, v.Order.Status)
			}
			if perr == nil && pay.Status != payment.StatusDeclined && pay.Status != payment.StatusRefunded && pay.Status != payment.StatusVoided {
				t.Errorf("compensated order %s: payment %s", id, pay.Status)
			}
		}
		for _, it := range p.Items {
			r, err := stock.Reservation(tctx, it.ProductID, id+"/reserve_inventory")
			switch {
			case err != nil && !errors.Is(err, orm.ErrNotFound):
				t.Fatal(err)
			case v.SagaStatus == saga.Completed && (err != nil || r.State != inventory.StateCommitted || r.Quantity != it.Quantity):
				t.Errorf("confirmed order %s: reservation of %s %+v, %v", id, it.ProductID, r, err)
			case v.SagaStatus != saga.Completed && err == nil && (r.State == inventory.StateHeld || r.State == inventory.StateCommitted):
				t.Errorf("compensated order %s: reservation of %s is %s", id, it.ProductID, r.State)
			}
		}
	}
	t.Logf("outcomes %v", counts)

	// Stock, ledger, notifications and the network add up to the confirmed orders.
	for _, tid := range tenants {
		tctx := tenant.With(ctx, tid)
		for i := range crashProducts {
			pid := product(strconv.Itoa(i))
			l, err := stock.Get(tctx, pid)
			if err != nil {
				t.Fatal(err)
			}
			want := initial[strconv.Itoa(i)] - sold[tid][pid]
			if l.OnHand != want || l.Available != want || l.Held != 0 {
				t.Errorf("tenant %s, %s: on hand %d, available %d, held %d; want %d, %d, 0 (%d of %d sold)",
					tid, pid, l.OnHand, l.Available, l.Held, want, want, sold[tid][pid], initial[strconv.Itoa(i)])
			}
		}
		balances, err := payments.Balances(tctx)
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		for _, b := range balances {
			sum += b
		}
		if got := balances[payment.MerchantAccount("EUR")] - revenueBefore[tid]; sum != 0 || got != revenue[tid] {
			t.Errorf("tenant %s: ledger %v sums to %d, merchant revenue grew by %d; want a sum of 0 and %d", tid, balances, sum, got, revenue[tid])
		}
		notes := map[string]int{}
		for nt, err := range orders.Notifications.Query().AllowFiltering().All(tctx) {
			if err != nil {
				t.Fatal(err)
			}
			notes[nt.OrderID]++
		}
		for i, id := range ids {
			if plans[i].Tenant != tid {
				continue
			}
			if want := map[bool]int{true: 1}[views[i].SagaStatus == saga.Completed]; notes[id] != want {
				t.Errorf("order %s (%s): %d notifications, want %d", id, views[i].SagaStatus, notes[id], want)
			}
		}
	}
	if st := network.Stats(); st.ApprovedCents-st.RefundedCents != charged {
		t.Errorf("the network approved %d cents and refunded %d; the confirmed orders total %d", st.ApprovedCents, st.RefundedCents, charged)
	} else {
		t.Logf("network: %+v", st)
	}

	// How long attempts stayed in flight is a measurement, not an assertion: on a
	// loaded machine a replacement worker can take a while to start.
	var resumed []time.Duration
	var worst time.Duration
	var worstAt string
	for i, id := range ids {
		h, err := orders.Processing.History(tenant.With(ctx, plans[i].Tenant), id)
		if err != nil {
			t.Fatal(err)
		}
		r, longest, which := crashtest.Takeovers(h, func(string) time.Duration { return crashStepTimeout })
		resumed = append(resumed, r...)
		if longest > worst {
			worst, worstAt = longest, id+" "+which
		}
	}
	t.Logf("attempts taken over by another worker, how long after their deadline: %s", crashtest.Summary(resumed))
	t.Logf("longest an attempt stayed in flight: %s, %s (step timeout %s, lease %s)", worst, worstAt, crashStepTimeout, crashLease)
}
