package eval

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cassandraorm/cassandraorm-go/recommend"
	"github.com/cassandraorm/cassandraorm-go/vector"
)

// Options shape an evaluation. Zero fields take the defaults documented on
// each.
type Options struct {
	// K is the cut-off of the metrics. Default 10.
	K int
	// Neighbors is the item-kNN k of the item-kNN row. Default 50.
	Neighbors int
	// TuneNeighbors are the item-kNN k the hybrid is tuned over, each with
	// raw and scaled neighbour lists (recommend.Config.ScaleNeighbors).
	// Default 10, 20, 50 and 100.
	TuneNeighbors []int
	// Shrinkage is the item-kNN shrinkage (recommend.Config.Shrinkage).
	// Default 0: none.
	Shrinkage float64
	// TestFraction is each user's share of held-out ratings. Default 0.2.
	TestFraction float64
	// Seed seeds the train/test split. Default 42.
	Seed uint64
	// ValidationSeed seeds the first validation split carved from the
	// training ratings, on which the hybrid's weights are tuned; split f
	// (from 0) has seed ValidationSeed+f. Default 43.
	ValidationSeed uint64
	// ValidationFolds is how many validation splits the weights are tuned on,
	// their metrics averaged. Default 3.
	ValidationFolds int
	// HalfLife is the popularity model's half-life. Default NoDecay: the
	// split is random in time, so popularity is best measured by counts (with
	// recommend.DefaultHalfLife, 14 days, its NDCG@10 here falls from 0.22 to
	// 0.17).
	HalfLife time.Duration
	// Embedder, when set, embeds each movie's title and genres for the
	// content-based model; without one that row is not run.
	Embedder vector.Embedder
	// Progress receives a line per step; nil: none.
	Progress io.Writer
}

func (o *Options) setDefaults() {
	if o.K == 0 {
		o.K = 10
	}
	if o.Neighbors == 0 {
		o.Neighbors = recommend.DefaultNeighbors
	}
	if len(o.TuneNeighbors) == 0 {
		o.TuneNeighbors = []int{10, 20, 50, 100}
	}
	if o.TestFraction == 0 {
		o.TestFraction = 0.2
	}
	if o.Seed == 0 {
		o.Seed = 42
	}
	if o.ValidationSeed == 0 {
		o.ValidationSeed = 43
	}
	if o.ValidationFolds == 0 {
		o.ValidationFolds = 3
	}
	if o.HalfLife == 0 {
		o.HalfLife = NoDecay
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
}

// Validate reports Options that cannot be used.
func (o Options) Validate() error {
	o.setDefaults()
	switch {
	case o.K < 0:
		return fmt.Errorf("eval: K %d is negative", o.K)
	case o.ValidationFolds < 0:
		return fmt.Errorf("eval: ValidationFolds %d is negative", o.ValidationFolds)
	case o.Neighbors < 0:
		return fmt.Errorf("eval: Neighbors %d is negative", o.Neighbors)
	case slices.ContainsFunc(o.TuneNeighbors, func(k int) bool { return k <= 0 || k > recommend.MaxNeighbors }):
		return fmt.Errorf("eval: TuneNeighbors %v: want each 1 to %d", o.TuneNeighbors, recommend.MaxNeighbors)
	case !(o.TestFraction > 0 && o.TestFraction < 1):
		return fmt.Errorf("eval: TestFraction %v: want more than 0 and less than 1", o.TestFraction)
	case o.HalfLife < 0:
		return fmt.Errorf("eval: HalfLife %s is negative", o.HalfLife)
	}
	return nil
}

// NoDecay is a half-life so long (about 292 years) that popularity is a
// weighted count.
const NoDecay = time.Duration(math.MaxInt64)

// Row is one model's result on the test split.
type Row struct {
	// Model names the model.
	Model string
	// Weights are the blend weights it ran with.
	Weights recommend.Weights
	// Neighbors and ScaleNeighbors are its item-kNN's k and
	// recommend.Config.ScaleNeighbors.
	Neighbors      int
	ScaleNeighbors bool
	Metrics
}

// Report is an evaluation's outcome.
type Report struct {
	// Options are the options it ran with, defaults applied.
	Options Options
	// Train and Test count the ratings of each side of the split.
	Train, Test int
	// Rows are the models' results.
	Rows []Row
	// Tuning lists every variant tried for the hybrid (k, scaling, weights)
	// with its metrics averaged over the validation splits.
	Tuning []Row
}

// Row returns the row of the model named name, if there is one.
func (r *Report) Row(name string) (Row, bool) {
	for _, x := range r.Rows {
		if x.Model == name {
			return x, true
		}
	}
	return Row{}, false
}

// Model names of the report's rows.
const (
	Popularity   = "popularity"
	ItemKNN      = "item-kNN"
	HybridKNN    = "item-kNN alone, with the hybrid's k and scaling"
	GenresOneHot = "genres one-hot (not embedded)"
	Content      = "content (titles and genres embedded)"
	Hybrid       = "hybrid"
)

// Run evaluates the models on d: every rating is an implicit interaction
// (kind purchase; the rating's value is not used), split per user with
// SplitPerUser(TestFraction, Seed). Each model is trained with
// recommend.Fit on the training ratings and recommends K movies per user from
// the user's whole training history, excluding the movies of that history;
// the metrics compare them with the user's held-out movies. The hybrid's
// item-kNN k (TuneNeighbors), its neighbour scaling (on or off) and its
// weights are tuned on validation splits carved from the training ratings
// alone (SplitPerUser(TestFraction, ValidationSeed+f) for each of
// ValidationFolds f), the variant of the best mean NDCG winning; the test
// split is never used for tuning. The report also runs item-kNN alone with
// the winning k and scaling, so that what the blend adds shows apart from
// what those add.
func Run(ctx context.Context, d *Dataset, opts Options) (*Report, error) {
	opts.setDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	rep := &Report{Options: opts}
	split := SplitPerUser(d.Ratings, opts.TestFraction, opts.Seed)
	rep.Train, rep.Test = len(split.Train), len(split.Test)

	genresSrc, err := genreContent(d.Movies)
	if err != nil {
		return nil, err
	}
	contentName, contentSrc := GenresOneHot, recommend.ContentSource(genresSrc)
	var embedded recommend.ContentSource
	if opts.Embedder != nil {
		fmt.Fprintf(opts.Progress, "embedding %d movies with %s ...\n", len(d.Movies), opts.Embedder.Model())
		if embedded, err = embeddedContent(ctx, opts.Embedder, d.Movies); err != nil {
			return nil, err
		}
		contentName, contentSrc = Content, embedded
	}

	// Tune the hybrid on validation splits of the training ratings, averaging
	// each variant's metrics over them.
	type variant struct {
		k     int
		scale bool
	}
	var variants []variant
	for _, k := range opts.TuneNeighbors {
		variants = append(variants, variant{k, false}, variant{k, true})
	}
	grid := weightGrid()
	sum := make([]Metrics, len(variants)*len(grid))
	for f := range opts.ValidationFolds {
		seed := opts.ValidationSeed + uint64(f)
		val := SplitPerUser(split.Train, opts.TestFraction, seed)
		fmt.Fprintf(opts.Progress, "tuning the hybrid on validation split %d of %d (seed %d: %d train, %d validation ratings) ...\n",
			f+1, opts.ValidationFolds, seed, len(val.Train), len(val.Test))
		for v, vr := range variants {
			snap, err := fit(opts, val.Train, vr.k, vr.scale)
			if err != nil {
				return nil, err
			}
			got, err := evaluate(ctx, opts, snap.WithContent(contentSrc), val, grid)
			if err != nil {
				return nil, err
			}
			for i, m := range got {
				at := &sum[v*len(grid)+i]
				at.Precision += m.Precision / float64(opts.ValidationFolds)
				at.Recall += m.Recall / float64(opts.ValidationFolds)
				at.NDCG += m.NDCG / float64(opts.ValidationFolds)
				at.Users = m.Users
			}
		}
	}
	best := 0
	for n, m := range sum {
		vr := variants[n/len(grid)]
		rep.Tuning = append(rep.Tuning, Row{Model: Hybrid, Weights: grid[n%len(grid)], Neighbors: vr.k, ScaleNeighbors: vr.scale, Metrics: m})
		if m.NDCG > sum[best].NDCG {
			best = n
		}
	}
	won := rep.Tuning[best]

	fmt.Fprintf(opts.Progress, "training on %d ratings, testing on %d ...\n", rep.Train, rep.Test)
	plain, err := fit(opts, split.Train, opts.Neighbors, false)
	if err != nil {
		return nil, err
	}
	tuned := plain
	if won.Neighbors != opts.Neighbors || won.ScaleNeighbors {
		if tuned, err = fit(opts, split.Train, won.Neighbors, won.ScaleNeighbors); err != nil {
			return nil, err
		}
	}
	type run struct {
		name string
		snap *recommend.Snapshot
		w    recommend.Weights
		src  recommend.ContentSource
	}
	runs := []run{
		{Popularity, plain, recommend.Weights{Popularity: 1}, nil},
		{ItemKNN, plain, recommend.Weights{KNN: 1}, nil},
	}
	if tuned != plain {
		runs = append(runs, run{HybridKNN, tuned, recommend.Weights{KNN: 1}, nil})
	}
	runs = append(runs, run{GenresOneHot, plain, recommend.Weights{Content: 1}, genresSrc})
	if embedded != nil {
		runs = append(runs, run{Content, plain, recommend.Weights{Content: 1}, embedded})
	}
	runs = append(runs, run{Hybrid + " (item-kNN + popularity + " + strings.TrimSuffix(contentName, " (not embedded)") + ")", tuned, won.Weights, contentSrc})
	for _, r := range runs {
		m, err := evaluate(ctx, opts, r.snap.WithContent(r.src), split, []recommend.Weights{r.w})
		if err != nil {
			return nil, err
		}
		k, scale := opts.Neighbors, false
		if r.snap == tuned {
			k, scale = won.Neighbors, won.ScaleNeighbors
		}
		rep.Rows = append(rep.Rows, Row{Model: r.name, Weights: r.w, Neighbors: k, ScaleNeighbors: scale, Metrics: m[0]})
	}
	return rep, nil
}

// weightGrid is the hybrid's search space of weights: item-kNN at 1,
// popularity and content at a few shares.
func weightGrid() []recommend.Weights {
	var g []recommend.Weights
	for _, p := range []float64{0, 0.02, 0.05, 0.1, 0.2, 0.4, 0.7, 1} {
		for _, c := range []float64{0, 0.02, 0.05, 0.1, 0.2, 0.4} {
			g = append(g, recommend.Weights{KNN: 1, Content: c, Popularity: p})
		}
	}
	return g
}

// fit trains a snapshot on ratings with k neighbours per item, scaled or
// not, with the latest of the ratings as the present.
func fit(opts Options, ratings []Rating, k int, scale bool) (*recommend.Snapshot, error) {
	var now time.Time
	for _, r := range ratings {
		if r.At.After(now) {
			now = r.At
		}
	}
	cfg := recommend.Config{
		Neighbors:      k,
		ScaleNeighbors: scale,
		Shrinkage:      opts.Shrinkage,
		HalfLife:       opts.HalfLife,
		// A user's whole training history seeds the recommendations.
		History:           1 << 20,
		ContentSeeds:      1 << 20,
		ContentCandidates: 200,
		Weights:           recommend.Weights{KNN: 1, Content: 1, Popularity: 1},
		Now:               func() time.Time { return now },
	}
	return recommend.Fit(cfg, func(yield func(recommend.Interaction) bool) {
		for _, r := range ratings {
			if !yield(interaction(r)) {
				return
			}
		}
	})
}

func interaction(r Rating) recommend.Interaction {
	return recommend.Interaction{UserID: itemID(r.User), ItemID: itemID(r.Movie), Kind: recommend.Purchase, At: r.At}
}

// user is one user's side of a split.
type user struct {
	history []recommend.Interaction // newest first
	seen    map[string]bool
	held    map[string]bool
}

func users(s Split) []user {
	byUser := map[int64]*user{}
	var ids []int64
	get := func(id int64) *user {
		u, ok := byUser[id]
		if !ok {
			u = &user{seen: map[string]bool{}, held: map[string]bool{}}
			byUser[id] = u
			ids = append(ids, id)
		}
		return u
	}
	for _, r := range s.Train {
		u := get(r.User)
		u.history = append(u.history, interaction(r))
		u.seen[itemID(r.Movie)] = true
	}
	for _, r := range s.Test {
		get(r.User).held[itemID(r.Movie)] = true
	}
	slices.Sort(ids)
	out := make([]user, len(ids))
	for i, id := range ids {
		u := byUser[id]
		slices.SortStableFunc(u.history, func(a, b recommend.Interaction) int {
			return cmp.Or(b.At.Compare(a.At), cmp.Compare(a.ItemID, b.ItemID))
		})
		out[i] = *u
	}
	return out
}

// evaluate ranks every user's candidates under each of weights and returns
// the metrics of each. Users are spread over the CPUs.
func evaluate(ctx context.Context, opts Options, snap *recommend.Snapshot, s Split, weights []recommend.Weights) ([]Metrics, error) {
	us := users(s)
	workers := max(1, runtime.GOMAXPROCS(0))
	accs := make([][]accumulator, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		accs[w] = make([]accumulator, len(weights))
		for i := range accs[w] {
			accs[w][i].k = opts.K
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ranked := make([]string, 0, opts.K)
			for n := w; n < len(us); n += workers {
				u := us[n]
				if len(u.held) == 0 || len(u.history) == 0 {
					continue
				}
				c, err := snap.Candidates(ctx, u.history, func(item string) bool { return u.seen[item] })
				if err != nil {
					errs[w] = err
					return
				}
				for i, wt := range weights {
					ranked = ranked[:0]
					for _, x := range wt.Rank(c, opts.K) {
						ranked = append(ranked, x.Item)
					}
					accs[w][i].add(ranked, u.held)
				}
			}
		}()
	}
	wg.Wait()
	out := make([]Metrics, len(weights))
	for i := range weights {
		total := accumulator{k: opts.K}
		for w := range workers {
			a := accs[w][i]
			total.prec += a.prec
			total.rec += a.rec
			total.ndcg += a.ndcg
			total.users += a.users
		}
		out[i] = total.metrics()
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, ctx.Err()
}

// genreContent is the genre flags as one-hot vectors, compared by cosine.
func genreContent(movies []Movie) (*recommend.MemoryContent, error) {
	vecs := map[string][]float32{}
	for _, m := range movies {
		v := make([]float32, len(genres))
		for _, g := range m.Genres {
			v[slices.Index(genres[:], g)] = 1
		}
		if len(m.Genres) > 0 {
			vecs[itemID(m.ID)] = v
		}
	}
	return recommend.NewMemoryContent("cosine", vecs)
}

// embeddedContent embeds "title. Genres: a, b" of each movie.
func embeddedContent(ctx context.Context, emb vector.Embedder, movies []Movie) (*recommend.MemoryContent, error) {
	texts := make(map[string]string, len(movies))
	for _, m := range movies {
		texts[itemID(m.ID)] = m.Title + ". Genres: " + strings.Join(m.Genres, ", ")
	}
	return recommend.EmbedContent(ctx, emb, texts)
}

// Write prints the report as a Markdown table.
func (r *Report) Write(w io.Writer) error {
	o := r.Options
	var b strings.Builder
	halfLife := o.HalfLife.String()
	if o.HalfLife == NoDecay {
		halfLife = "none (counts)"
	}
	fmt.Fprintf(&b, "MovieLens 100k: %d train / %d test ratings (per-user random %.0f%% held out, seed %d); k=%d neighbours, shrinkage %g; popularity half-life %s\n\n",
		r.Train, r.Test, 100*o.TestFraction, o.Seed, o.Neighbors, o.Shrinkage, halfLife)
	fmt.Fprintf(&b, "| model | weights (kNN, content, popularity) | kNN k, lists | precision@%d | recall@%d | NDCG@%d | users |\n|---|---|---|---|---|---|---|\n", o.K, o.K, o.K)
	for _, x := range r.Rows {
		lists := "-"
		if x.Weights.KNN > 0 {
			lists = fmt.Sprintf("%d, raw", x.Neighbors)
			if x.ScaleNeighbors {
				lists = fmt.Sprintf("%d, scaled", x.Neighbors)
			}
		}
		fmt.Fprintf(&b, "| %s | %g, %g, %g | %s | %.4f | %.4f | %.4f | %d |\n", x.Model, x.Weights.KNN, x.Weights.Content, x.Weights.Popularity, lists, x.Precision, x.Recall, x.NDCG, x.Users)
	}
	if o.Embedder == nil {
		fmt.Fprintf(&b, "\n%s: not run (no embedder given).\n", Content)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
