package recommend

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/retry"
)

// TrainReport says what a training job did.
type TrainReport struct {
	// At is the job's present: popularity is decayed to it, and every row the
	// job writes carries it (or it plus a microsecond) as its write time.
	At time.Time
	// Interactions and Users count what the job read.
	Interactions, Users int
	// Items counts the neighbour lists the job wrote.
	Items int
	// Popular is the length of the popularity list written.
	Popular int
}

// Train is the full training job: it reads every interaction (the users
// from the Config.LogShards partitions of the interaction_users table that
// Record keeps, then each user's partition of the interactions table,
// Config.Concurrency at a time: named partitions only, no scan, so on a
// tenanted DB it reads the tenant's rows and no other's), computes
// every item's neighbour list and the popularity list in memory (Fit's
// computation: the matrix of affinities is held sparse, one row per user and
// one per item), and writes them.
//
// Each list is replaced whole in one single-partition batch: a deletion of
// the partition at the job's write time At, then its rows at At plus one
// microsecond. So a reader sees one job's list or another's, never a mix; a
// job run again writes the same rows (it is idempotent); and when jobs
// overlap, the one that started last wins whatever order their writes land
// in, since an older job's rows are older than a newer job's deletion. Writes
// are retried by Config.Retry. Lists of items that no longer have any
// interaction are left as they were.
func (r *Recommender) Train(ctx context.Context) (TrainReport, error) {
	rep := TrainReport{At: r.cfg.Now().UTC().Truncate(time.Microsecond)}
	b := newBuilder(&r.cfg, rep.At)
	users, err := r.allUsers(ctx)
	if err != nil {
		return rep, fmt.Errorf("recommend: train: %w", err)
	}
	histories := make([][]Interaction, len(users))
	if err := r.each(ctx, len(users), func(ctx context.Context, i int) error {
		for in, err := range r.interactions.Query().Where(orm.Eq("user_id", users[i])).All(ctx) {
			if err != nil {
				return fmt.Errorf("read interactions of user %q: %w", users[i], err)
			}
			histories[i] = append(histories[i], in)
		}
		return nil
	}); err != nil {
		return rep, fmt.Errorf("recommend: train: %w", err)
	}
	for _, h := range histories { // in user order, whatever order the reads ended in
		for _, in := range h {
			b.add(in.UserID, in.ItemID, in.Kind, in.At)
			rep.Interactions++
		}
	}
	m := b.build()
	rep.Users = len(m.users)
	all := make([]int32, len(m.items))
	for i := range all {
		all[i] = int32(i)
	}
	if err := r.store(ctx, m, all, rep.At, m.popular(r.cfg.PopularSize)); err != nil {
		return rep, fmt.Errorf("recommend: train: %w", err)
	}
	rep.Items = len(all)
	rep.Popular = min(len(m.items), r.cfg.PopularSize)
	return rep, nil
}

// TrainIncremental retrains what the interactions recorded since since
// change, reading only partitions it can name:
//
//   - the log partitions of each day from since to now (Config.LogShards per
//     day) give the items touched since then;
//   - each touched item's partition of item_interactions gives its users, and
//     each of those users' interactions partition gives their whole history;
//   - the norms of the other items those users touched come from item_stats.
//
// From these it recomputes, exactly as Train would, the neighbour list and
// the popularity of every touched item, and writes the lists and stats of
// those items only. The lists of untouched items are not rewritten: where they
// name a touched item, its score is the one of the last job that wrote them,
// until the next Train. The popularity list is the stored one with its
// scores decayed to now, the touched items' scores replaced by their exact
// ones, re-sorted and cut to Config.PopularSize (an untouched item that was
// cut from the stored list cannot come back until the next Train). Writes are
// fenced by write time as Train's are. since is compared with the
// interactions' times (Interaction.At), not with when they were recorded.
// Interactions older than Config.LogTTL have left the log: a since further
// back than that is refused.
func (r *Recommender) TrainIncremental(ctx context.Context, since time.Time) (TrainReport, error) {
	rep := TrainReport{At: r.cfg.Now().UTC().Truncate(time.Microsecond)}
	switch {
	case since.After(rep.At):
		return rep, fmt.Errorf("recommend: train incremental: since %s is after now (%s)", since.Format(time.RFC3339), rep.At.Format(time.RFC3339))
	case rep.At.Sub(since) > r.cfg.LogTTL:
		return rep, fmt.Errorf("recommend: train incremental: since %s is more than LogTTL (%s) ago: the log no longer holds all that happened since; run Train",
			since.Format(time.RFC3339), r.cfg.LogTTL)
	}
	touched, err := r.touchedSince(ctx, since, rep.At)
	if err != nil {
		return rep, fmt.Errorf("recommend: train incremental: %w", err)
	}
	if len(touched) == 0 {
		return rep, nil
	}
	// The users of the touched items.
	items := sortedKeys(touched)
	usersOf := make([][]string, len(items))
	err = r.each(ctx, len(items), func(ctx context.Context, i int) error {
		seen := map[string]bool{}
		for ii, err := range r.byItem.Query().Where(orm.Eq("item_id", items[i])).Columns("item_id", "user_id", "at").All(ctx) {
			if err != nil {
				return fmt.Errorf("users of item %q: %w", items[i], err)
			}
			if !seen[ii.UserID] {
				seen[ii.UserID] = true
				usersOf[i] = append(usersOf[i], ii.UserID)
			}
		}
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("recommend: train incremental: %w", err)
	}
	userSet := map[string]bool{}
	for _, us := range usersOf {
		for _, u := range us {
			userSet[u] = true
		}
	}
	users := sortedKeys(userSet)
	// Their whole histories.
	histories := make([][]Interaction, len(users))
	err = r.each(ctx, len(users), func(ctx context.Context, i int) error {
		for in, err := range r.interactions.Query().Where(orm.Eq("user_id", users[i])).All(ctx) {
			if err != nil {
				return fmt.Errorf("history of user %q: %w", users[i], err)
			}
			histories[i] = append(histories[i], in)
		}
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("recommend: train incremental: %w", err)
	}
	b := newBuilder(&r.cfg, rep.At)
	for _, h := range histories {
		for _, in := range h {
			b.add(in.UserID, in.ItemID, in.Kind, in.At)
			rep.Interactions++
		}
	}
	m := b.build()
	rep.Users = len(m.users)
	// The norms built from these users are exact for the touched items only:
	// the others' come from their stats.
	var others []int32
	for i, id := range m.items {
		if !touched[id] {
			others = append(others, int32(i))
		}
	}
	err = r.each(ctx, len(others), func(ctx context.Context, n int) error {
		i := others[n]
		st, err := r.stats.Get(ctx, m.items[i])
		switch {
		case errors.Is(err, orm.ErrNotFound):
			m.norm[i] = 0 // never trained: not compared until the next Train
		case err != nil:
			return fmt.Errorf("stats of item %q: %w", m.items[i], err)
		default:
			m.norm[i] = st.Norm
		}
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("recommend: train incremental: %w", err)
	}
	retrain := make([]int32, 0, len(items))
	for _, id := range items {
		if i, ok := m.item[id]; ok {
			retrain = append(retrain, i)
		}
	}
	stored, asOf, err := r.readPopular(ctx)
	if err != nil {
		return rep, fmt.Errorf("recommend: train incremental: %w", err)
	}
	pop := make([]Scored, 0, len(stored)+len(retrain))
	factor := r.cfg.decay(rep.At.Sub(asOf))
	for _, s := range stored {
		if !touched[s.Item] {
			pop = append(pop, Scored{Item: s.Item, Score: s.Score * factor})
		}
	}
	for _, i := range retrain {
		if m.pop[i] > 0 {
			pop = append(pop, Scored{Item: m.items[i], Score: m.pop[i]})
		}
	}
	pop = top(pop, r.cfg.PopularSize)
	if err := r.store(ctx, m, retrain, rep.At, pop); err != nil {
		return rep, fmt.Errorf("recommend: train incremental: %w", err)
	}
	rep.Items, rep.Popular = len(retrain), len(pop)
	return rep, nil
}

// touchedSince reads the log from since to now and returns the items in it.
func (r *Recommender) touchedSince(ctx context.Context, since, now time.Time) (map[string]bool, error) {
	type part struct {
		day   string
		shard int32
	}
	var parts []part
	for d := since.UTC().Truncate(24 * time.Hour); !d.After(now); d = d.Add(24 * time.Hour) {
		for s := range int32(r.cfg.LogShards) {
			parts = append(parts, part{day(d), s})
		}
	}
	found := make([][]string, len(parts))
	err := r.each(ctx, len(parts), func(ctx context.Context, i int) error {
		q := r.log.Query().Where(orm.Eq("day", parts[i].day), orm.Eq("shard", parts[i].shard), orm.Gte("at", since))
		for e, err := range q.All(ctx) {
			if err != nil {
				return fmt.Errorf("log %s shard %d: %w", parts[i].day, parts[i].shard, err)
			}
			found[i] = append(found[i], e.ItemID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	touched := map[string]bool{}
	for _, f := range found {
		for _, id := range f {
			touched[id] = true
		}
	}
	return touched, nil
}

// store computes and writes the neighbour lists and stats of items, and the
// popularity list pop, all at write time at (deletions) and at+1µs (rows).
func (r *Recommender) store(ctx context.Context, m *matrix, items []int32, at time.Time, pop []Scored) error {
	var pool sync.Pool
	err := r.each(ctx, len(items), func(ctx context.Context, n int) error {
		i := items[n]
		s, _ := pool.Get().(*scratch)
		if s == nil {
			s = newScratch(len(m.items))
		}
		list := m.neighbours(i, r.cfg.Neighbors, r.cfg.Shrinkage, s)
		pool.Put(s)
		id := m.items[i]
		if err := r.writeList(ctx, id, list, at); err != nil {
			return err
		}
		st := itemStat{ItemID: id, Norm: m.norm[i], Users: int32(len(m.byItem[i])), Popularity: m.pop[i], AsOf: at}
		return r.retry(ctx, func(ctx context.Context) error {
			if err := r.stats.Insert(ctx, &st, orm.WithTimestamp(at)); err != nil {
				return fmt.Errorf("stats of item %q: %w", id, err)
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	return r.writePopular(ctx, pop, at)
}

// later is the write time of a job's rows: after its deletions.
func later(at time.Time) time.Time { return at.Add(time.Microsecond) }

// writeList replaces item's neighbour list in one single-partition batch.
func (r *Recommender) writeList(ctx context.Context, item string, list []Scored, at time.Time) error {
	return r.retry(ctx, func(ctx context.Context) error {
		b := r.db.NewBatch(orm.UnloggedBatch, orm.BatchLimits{MaxStatements: len(list) + 1}, orm.WithTimestamp(at))
		err := r.neighbours.Batch(b).Delete(ctx, item)
		for _, n := range list {
			err = errors.Join(err, r.neighbours.Batch(b).Insert(ctx, &neighbour{ItemID: item, NeighborID: n.Item, Score: n.Score}, orm.WithTimestamp(later(at))))
		}
		if err == nil {
			err = b.Exec(ctx)
		}
		if err != nil {
			return fmt.Errorf("neighbours of item %q: %w", item, err)
		}
		return nil
	})
}

// writePopular replaces the popularity list in one single-partition batch.
func (r *Recommender) writePopular(ctx context.Context, pop []Scored, at time.Time) error {
	return r.retry(ctx, func(ctx context.Context) error {
		b := r.db.NewBatch(orm.UnloggedBatch, orm.BatchLimits{MaxStatements: len(pop) + 1}, orm.WithTimestamp(at))
		err := r.popular.Batch(b).Delete(ctx, r.cfg.Bucket)
		for rank, p := range pop {
			err = errors.Join(err, r.popular.Batch(b).Insert(ctx, &popularItem{Bucket: r.cfg.Bucket, Rank: int32(rank), ItemID: p.Item, Score: p.Score, AsOf: at}, orm.WithTimestamp(later(at))))
		}
		if err == nil {
			err = b.Exec(ctx)
		}
		if err != nil {
			return fmt.Errorf("popularity list %q: %w", r.cfg.Bucket, err)
		}
		return nil
	})
}

// retry runs an idempotent write under Config.Retry.
func (r *Recommender) retry(ctx context.Context, fn func(ctx context.Context) error) error {
	return retry.Do(ctx, r.cfg.Retry, func(ctx context.Context, _ int) error { return fn(ctx) })
}

// allUsers returns the users who have interactions, in order: the rows of
// every shard's partition of interaction_users.
func (r *Recommender) allUsers(ctx context.Context) ([]string, error) {
	shards := make([][]string, r.cfg.LogShards)
	if err := r.each(ctx, r.cfg.LogShards, func(ctx context.Context, i int) error {
		for u, err := range r.users.Query().Where(orm.Eq("shard", int32(i))).All(ctx) {
			if err != nil {
				return fmt.Errorf("read users of shard %d: %w", i, err)
			}
			shards[i] = append(shards[i], u.UserID)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return slices.Sorted(slices.Values(slices.Concat(shards...))), nil
}
