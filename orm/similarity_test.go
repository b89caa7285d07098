package orm_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

type simDot struct {
	ID  int64     `cql:"id" orm:"pk"`
	Vec []float32 `cql:"vec" orm:"vector=3,index,similarity=dot_product"`
}

type simCos struct {
	ID  int64     `cql:"id" orm:"pk"`
	Vec []float32 `cql:"vec" orm:"vector=3,index"`
}

// TestSimilarityTag: the tag option's values, its default, and the models it refuses.
func TestSimilarityTag(t *testing.T) {
	db := buildDB(t)
	if got := orm.MustModel[simDot](db).Table().Column("vec").Similarity; got != "dot_product" {
		t.Errorf("similarity=dot_product: got %q", got)
	}
	if got := orm.MustModel[simCos](db).Table().Column("vec").Similarity; got != "cosine" {
		t.Errorf("default similarity: got %q, want cosine", got)
	}
	type badFn struct {
		ID  int64     `orm:"pk"`
		Vec []float32 `orm:"vector=3,index,similarity=manhattan"`
	}
	type notIndexed struct {
		ID  int64     `orm:"pk"`
		Vec []float32 `orm:"vector=3,similarity=euclidean"`
	}
	type notVector struct {
		ID   int64  `orm:"pk"`
		Name string `orm:"index,similarity=cosine"`
	}
	for name, c := range map[string]struct {
		new  func() error
		want string
	}{
		"unknown function": {func() error { _, err := orm.NewModel[badFn](db); return err }, `similarity="manhattan"`},
		"not indexed":      {func() error { _, err := orm.NewModel[notIndexed](db); return err }, "indexed vector column"},
		"not a vector":     {func() error { _, err := orm.NewModel[notVector](db); return err }, "name is text"},
	} {
		err := c.new()
		if !errors.Is(err, orm.ErrInvalidModel) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want ErrInvalidModel containing %q", name, err, c.want)
		}
	}
}

// TestSimilaritySchema: Sync creates the index with the model's similarity function
// (read back from system_schema.indexes), and Diff reports a model whose function
// differs from the live index's.
func TestSimilaritySchema(t *testing.T) {
	ctx := t.Context()
	db := openDB(t)
	dot := orm.MustModel[simDot](db, orm.TableName("sim_schema"))
	if err := db.Sync(ctx, dot); err != nil {
		t.Fatal(err)
	}
	var opts map[string]string
	if err := env.Session(t).Query(`SELECT options FROM system_schema.indexes WHERE keyspace_name = ? AND table_name = ? AND index_name = ?`,
		env.Keyspace(), "sim_schema", "sim_schema_vec_idx").Scan(&opts); err != nil {
		t.Fatal(err)
	}
	if !strings.EqualFold(opts["similarity_function"], "dot_product") {
		t.Errorf("index options %v, want similarity_function dot_product", opts)
	}
	if changes, err := db.Diff(ctx, dot); err != nil || len(changes) != 0 {
		t.Errorf("Diff of the synced model: %v %v, want none", changes, err)
	}
	cos := orm.MustModel[simCos](db, orm.TableName("sim_schema"))
	changes, err := db.Diff(ctx, cos)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 || !strings.Contains(changes[0].What, "similarity dot_product in the database but cosine in the model") {
		t.Errorf("Diff with another function: %v, want one change naming both", changes)
	}
}
