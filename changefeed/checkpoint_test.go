package changefeed_test

import (
	"errors"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/changefeed"
	"github.com/cassandraorm/cassandraorm-go/orm"
)

// A checkpoint saved by a successor fences its former holder out: the former
// holder's next save, on the owner it last saw, is refused with ErrFenced and
// changes nothing.
func TestCheckpointFencing(t *testing.T) {
	ctx := t.Context()
	db, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cps, err := changefeed.NewCheckpoints(db, "checkpoints")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Sync(ctx, cps.Model()); err != nil {
		t.Fatal(err)
	}
	name := "reader-" + orm.NewUUID().String()[:8]
	if cp, err := cps.Get(ctx, name); err != nil || cp != (changefeed.Checkpoint{}) {
		t.Fatalf("a checkpoint never saved: %+v, %v; want the zero one", cp, err)
	}
	first := changefeed.Position{Bucket: 60, Seq: orm.NewTimeUUID()}
	steps := []struct {
		name         string
		pos          changefeed.Position
		owner, prev  string
		fenced       bool
		wantOwner    string
		wantPosition changefeed.Position
	}{
		{"A takes it", first, "A", "", false, "A", first},
		{"A saves again", first, "A", "A", false, "A", first},
		{"B takes it over", changefeed.Position{}, "B", "A", false, "B", changefeed.Position{}},
		{"A, paused, saves", first, "A", "A", true, "B", changefeed.Position{}},
		{"B saves", first, "B", "B", false, "B", first},
	}
	for _, s := range steps {
		err := cps.Save(ctx, name, s.pos, 3, s.owner, s.prev)
		if s.fenced != errors.Is(err, changefeed.ErrFenced) || !s.fenced && err != nil {
			t.Fatalf("%s: %v, fenced=%v", s.name, err, s.fenced)
		}
		cp, err := cps.Get(ctx, name)
		if err != nil || cp.Owner != s.wantOwner || cp.Position != s.wantPosition || cp.Generation != 3 {
			t.Fatalf("%s: checkpoint %+v, %v; want owner %s at %+v, generation 3", s.name, cp, err, s.wantOwner, s.wantPosition)
		}
	}
}
