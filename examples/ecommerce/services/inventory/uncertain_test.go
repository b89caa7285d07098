package inventory_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/inventory"
	"github.com/cassandraorm/cassandraorm-go/orm"
)

// losing makes the next n batches on product pid end with an unknown outcome,
// applied or not, and counts them.
type losing struct {
	mu      sync.Mutex
	pid     string
	n       int
	applied bool
	lost    int
}

func (l *losing) lose(pid string) (bool, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if pid != l.pid || l.n == 0 {
		return false, false
	}
	l.n--
	l.lost++
	return true, l.applied
}

// every change of one reservation whose answer is lost, applied or not: the
// next attempt reads at SERIAL consistency, sees what happened, and the effect
// happens once.
func TestUnknownOutcomes(t *testing.T) {
	ctx := t.Context()
	for _, applied := range []bool{true, false} {
		name := map[bool]string{true: "answers lost", false: "requests lost"}[applied]
		t.Run(name, func(t *testing.T) {
			svc := newService(t, testConfig())
			pid := stocked(t, svc, "p", 10)
			l := &losing{pid: pid, applied: applied}
			inventory.LoseAnswers(svc, l.lose, nil)
			steps := []struct {
				name              string
				call              func() error
				onHand, available int
			}{
				{"reserve", func() error { _, err := svc.Reserve(ctx, "r", items(pid, 3), time.Minute); return err }, 10, 7},
				{"commit", func() error { _, err := svc.Commit(ctx, "r", []string{pid}); return err }, 7, 7},
				{"release", func() error { _, err := svc.Release(ctx, "r", []string{pid}); return err }, 10, 10},
				{"release first", func() error { _, err := svc.Release(ctx, "r2", []string{pid}); return err }, 10, 10},
				{"restock", func() error { _, err := svc.Restock(ctx, pid, 5); return err }, 15, 15},
				{"set stock", func() error { _, err := svc.SetStock(ctx, pid, 12); return err }, 12, 12},
			}
			for _, s := range steps {
				l.n = 1
				if err := s.call(); err != nil {
					t.Fatalf("%s: %v", s.name, err)
				}
				if l.lost == 0 {
					t.Fatalf("%s: no batch was lost", s.name)
				}
				l.lost = 0
				wantLevel(t, svc, pid, s.onHand, s.available)
			}
			wantState(t, svc, pid, "r", inventory.StateReleased)
			wantState(t, svc, pid, "r2", inventory.StateCancelled)
		})
	}
}

// A restock whose answer was lost, with another restock landing before it could
// be read: it cannot tell whether it applied, and says so.
func TestRestockUndecidable(t *testing.T) {
	svc := newService(t, testConfig())
	ctx := t.Context()
	pid := stocked(t, svc, "p", 10)
	other := newService(t, testConfig())
	var once sync.Once
	inventory.LoseAnswers(svc, func(string) (bool, bool) { return true, true }, func() {
		once.Do(func() {
			if _, err := other.Restock(ctx, pid, 2); err != nil {
				t.Error(err)
			}
		})
	})
	_, err := svc.Restock(ctx, pid, 5)
	if !errors.Is(err, orm.ErrUncertain) {
		t.Fatalf("restock: %v", err)
	}
	wantLevel(t, svc, pid, 17, 17) // it had applied
}

// When every attempt's outcome is lost, the call fails with orm.ErrUncertain,
// never a success or a refusal.
func TestUnknownOutcomeToTheEnd(t *testing.T) {
	cfg := testConfig()
	cfg.Attempts = 3
	svc := newService(t, cfg)
	pid := stocked(t, svc, "p", 10)
	inventory.LoseAnswers(svc, func(string) (bool, bool) { return true, false }, nil)
	_, err := svc.Reserve(t.Context(), "r", items(pid, 1), time.Minute)
	if !errors.Is(err, orm.ErrUncertain) {
		t.Fatalf("reserve: %v", err)
	}
	wantLevel(t, svc, pid, 10, 10)
}
