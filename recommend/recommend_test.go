package recommend_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/recommend"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// clock is a settable present for a test's Config.Now.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

// base is the tests' present: interactions are recorded just before it.
var base = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// record stores interactions (user, item, kind), one millisecond apart from at.
func record(t *testing.T, ctx context.Context, r *recommend.Recommender, at time.Time, rows ...[3]string) {
	t.Helper()
	for i, row := range rows {
		in := recommend.Interaction{UserID: row[0], ItemID: row[1], Kind: recommend.Kind(row[2]), At: at.Add(time.Duration(i) * time.Millisecond)}
		if err := r.Record(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
}

func items(list []recommend.Scored) string {
	ids := make([]string, len(list))
	for i, s := range list {
		ids[i] = s.Item
	}
	return strings.Join(ids, ",")
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// shop is the hand-made data set: three users bought A and B, one bought A
// and C, one only viewed D. With purchases weighing 5, cos(A, B) = 75 /
// (10·√75) = √3/2 and cos(A, C) = 25 / (10·5) = 1/2.
var shop = [][3]string{
	{"u1", "A", "purchase"}, {"u1", "B", "purchase"},
	{"u2", "A", "purchase"}, {"u2", "B", "purchase"},
	{"u3", "A", "purchase"}, {"u3", "B", "purchase"},
	{"u4", "A", "purchase"}, {"u4", "C", "purchase"},
	{"u5", "D", "view"},
}

func TestTrainNeighboursAndRecommend(t *testing.T) {
	ctx := tenant.With(context.Background(), "t-train")
	clk := &clock{base}
	r := newRecommender(t, recommend.Config{Now: clk.Now}, nil)
	record(t, ctx, r, base.Add(-time.Hour), shop...)
	record(t, ctx, r, base.Add(-time.Minute), [3]string{"u6", "A", "purchase"})

	rep, err := r.Train(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Interactions != 10 || rep.Users != 6 || rep.Items != 4 {
		t.Errorf("report %+v, want 10 interactions, 6 users, 4 items", rep)
	}
	// With u6, A has five buyers: cos(A,B) = 75/(√125·√75), cos(A,C) = 25/(√125·5).
	wantAB, wantAC := 75/(math.Sqrt(125)*math.Sqrt(75)), 25/(math.Sqrt(125)*5)
	got, err := r.Neighbours(ctx, "A")
	if err != nil {
		t.Fatal(err)
	}
	if items(got) != "B,C" || !near(got[0].Score, wantAB) || !near(got[1].Score, wantAC) {
		t.Errorf("neighbours of A = %v, want B %.4f, C %.4f", got, wantAB, wantAC)
	}
	if got, _ := r.Neighbours(ctx, "D"); len(got) != 0 {
		t.Errorf("neighbours of D, which shares no user = %v, want none", got)
	}

	for _, tc := range []struct {
		name, user, want string
	}{
		{"bought A: B first, then C, then popular D; A excluded", "u6", "B,C,D"},
		{"bought A and B: C, then popular D", "u1", "C,D"},
		{"viewed D only, which has no neighbours: popular items, D kept (not purchased)", "u5", "A,B,C,D"},
		{"cold start: the popular items", "nobody", "A,B,C,D"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.Recommend(ctx, tc.user, 10)
			if err != nil {
				t.Fatal(err)
			}
			if items(got) != tc.want {
				t.Errorf("Recommend(%s) = %v, want %s", tc.user, got, tc.want)
			}
		})
	}

	// The popularity list: purchases weigh 5, views 1, decayed by age.
	pop, err := r.Popular(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if items(pop) != "A,B,C,D" {
		t.Errorf("popular = %v, want A,B,C,D", pop)
	}
}

func TestPopularityDecays(t *testing.T) {
	ctx := tenant.With(context.Background(), "t-decay")
	clk := &clock{base}
	r := newRecommender(t, recommend.Config{Now: clk.Now, HalfLife: 24 * time.Hour}, nil)
	// Old: three purchases of X four days ago (15 × 2⁻⁴ ≈ 0.94). New: one view
	// of Y an hour ago (≈ 0.97).
	record(t, ctx, r, base.Add(-96*time.Hour), [3]string{"a", "X", "purchase"}, [3]string{"b", "X", "purchase"}, [3]string{"c", "X", "purchase"})
	record(t, ctx, r, base.Add(-time.Hour), [3]string{"d", "Y", "view"})
	if _, err := r.Train(ctx); err != nil {
		t.Fatal(err)
	}
	pop, err := r.Popular(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if items(pop) != "Y,X" {
		t.Fatalf("popular = %v, want Y before X", pop)
	}
	if want := 15 * math.Exp2(-(96*time.Hour-2*time.Millisecond).Hours()/24) / 1; math.Abs(pop[1].Score-want) > 1e-6 {
		t.Errorf("X's score %v, want %v", pop[1].Score, want)
	}
}

func TestTrainIncremental(t *testing.T) {
	ctx := tenant.With(context.Background(), "t-incr")
	clk := &clock{base}
	r := newRecommender(t, recommend.Config{Now: clk.Now}, nil)
	record(t, ctx, r, base.Add(-time.Hour), shop...)
	if _, err := r.Train(ctx); err != nil {
		t.Fatal(err)
	}
	before := map[string][]recommend.Scored{}
	for _, it := range []string{"A", "B", "C", "D"} {
		before[it], _ = r.Neighbours(ctx, it)
	}

	// u7 buys C and E: C and E are touched, A, B and D are not.
	since := base.Add(time.Minute)
	clk.now = base.Add(2 * time.Minute)
	record(t, ctx, r, since, [3]string{"u7", "C", "purchase"}, [3]string{"u7", "E", "purchase"})
	clk.now = base.Add(3 * time.Minute)
	rep, err := r.TrainIncremental(ctx, since)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Items != 2 || rep.Users != 2 {
		t.Errorf("report %+v, want 2 lists (C, E) from 2 users (u4, u7)", rep)
	}
	// C's list is recomputed: C's vector is now (u4:5, u7:5), so cos(C,A) =
	// 25/(√50·10) and cos(C,E) = 25/(√50·5).
	got, err := r.Neighbours(ctx, "C")
	if err != nil {
		t.Fatal(err)
	}
	wantCE, wantCA := 25/(math.Sqrt(50)*5), 25/(math.Sqrt(50)*10)
	if items(got) != "E,A" || !near(got[0].Score, wantCE) || !near(got[1].Score, wantCA) {
		t.Errorf("neighbours of C = %v, want E %.4f, A %.4f", got, wantCE, wantCA)
	}
	if got, _ := r.Neighbours(ctx, "E"); items(got) != "C" || !near(got[0].Score, 25/(5*math.Sqrt(50))) {
		t.Errorf("neighbours of E = %v, want C %.4f", got, 25/(5*math.Sqrt(50)))
	}
	// Untouched lists are the rows the full job wrote: A still holds C at the
	// old 1/2, though a full Train would now give 25/(10·√50).
	for _, it := range []string{"A", "B", "D"} {
		got, err := r.Neighbours(ctx, it)
		if err != nil {
			t.Fatal(err)
		}
		if items(got) != items(before[it]) {
			t.Errorf("neighbours of untouched %s = %v, want the stored %v", it, got, before[it])
		}
		for i := range got {
			if got[i].Score != before[it][i].Score {
				t.Errorf("neighbours of untouched %s changed: %v, were %v", it, got, before[it])
			}
		}
	}
	if a := before["A"]; len(a) != 2 || !near(a[1].Score, 0.5) {
		t.Errorf("neighbours of A after Train = %v, want C at 0.5", a)
	}
	// The popularity list has E now, and C moved up beside B.
	pop, err := r.Popular(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if items(pop) != "A,B,C,E,D" {
		t.Errorf("popular after the incremental job = %v, want A,B,C,E,D", pop)
	}
	for _, bad := range []time.Time{clk.now.Add(time.Minute), clk.now.Add(-recommend.DefaultLogTTL - time.Minute), {}} {
		if _, err := r.TrainIncremental(ctx, bad); err == nil {
			t.Errorf("TrainIncremental since %s: no error, want a refusal", bad)
		}
	}
	// Nothing new: nothing written.
	if rep, err := r.TrainIncremental(ctx, base.Add(3*time.Minute)); err != nil || rep.Items != 0 {
		t.Errorf("TrainIncremental with nothing new = %+v, %v; want no lists", rep, err)
	}
}

// A job that started earlier cannot overwrite the lists of one that started
// later, whichever writes last.
func TestOlderJobLoses(t *testing.T) {
	ctx := tenant.With(context.Background(), "t-fence")
	newer := &clock{base.Add(time.Hour)}
	older := &clock{base}
	rNew := newRecommender(t, recommend.Config{Now: newer.Now}, nil)
	rOld := newRecommender(t, recommend.Config{Now: older.Now}, nil)
	record(t, ctx, rNew, base.Add(-time.Hour), shop...)
	if _, err := rNew.Train(ctx); err != nil {
		t.Fatal(err)
	}
	want, _ := rNew.Neighbours(ctx, "A")
	// More data, then the older job writes: its lists lose to the newer job's.
	record(t, ctx, rNew, base.Add(-time.Hour+time.Second), [3]string{"u9", "A", "purchase"}, [3]string{"u9", "D", "purchase"})
	if _, err := rOld.Train(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ := rNew.Neighbours(ctx, "A")
	if items(got) != items(want) || !near(got[0].Score, want[0].Score) {
		t.Errorf("after an older job: neighbours of A = %v, want the newer job's %v", got, want)
	}
	// The newer job run again is idempotent on the new data and sees D.
	if _, err := rNew.Train(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := rNew.Neighbours(ctx, "A"); items(got) != "B,C,D" && items(got) != "B,D,C" {
		t.Errorf("after the newer job again: neighbours of A = %v, want B, C and D", got)
	}
}

func TestRecordRefuses(t *testing.T) {
	ctx := tenant.With(context.Background(), "t-refuse")
	r := newRecommender(t, recommend.Config{}, nil)
	for _, tc := range []struct {
		name string
		in   recommend.Interaction
	}{
		{"no user", recommend.Interaction{ItemID: "A", Kind: recommend.View}},
		{"no item", recommend.Interaction{UserID: "u", Kind: recommend.View}},
		{"unknown kind", recommend.Interaction{UserID: "u", ItemID: "A", Kind: "like"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := r.Record(ctx, tc.in); !errors.Is(err, orm.ErrInvalidValue) {
				t.Errorf("Record(%+v) = %v, want ErrInvalidValue", tc.in, err)
			}
		})
	}
	if _, err := r.Recommend(context.Background(), "u", 5); !errors.Is(err, tenant.ErrNoTenant) {
		t.Errorf("Recommend without a tenant = %v, want ErrNoTenant", err)
	}
}
