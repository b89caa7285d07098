package orm_test

import (
	"errors"
	"math/big"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"gopkg.in/inf.v0"
)

type Geo struct {
	Lat float64 `cql:"lat"`
	Lng float64 `cql:"lng"`
}

type Address struct {
	Street string            `cql:"street"`
	Zip    *string           `cql:"zip"`
	Geo    Geo               `cql:"geo"`
	Tags   []string          `cql:"tags" orm:"set"`
	Extra  map[string]string `cql:"extra"`
}

type Pair struct {
	N int32
	S string
}

// Everything is one row of every CQL type the ORM maps.
type Everything struct {
	ID        orm.UUID           `cql:"id" orm:"pk"`
	ASCII     string             `cql:"ascii_col" orm:"ascii"`
	Text      string             `cql:"text_col"`
	Tiny      int8               `cql:"tiny"`
	Small     int16              `cql:"small"`
	Int       int32              `cql:"int_col"`
	Big       int64              `cql:"big"`
	Varint    *big.Int           `cql:"varint_col"`
	Float     float32            `cql:"float_col"`
	Double    float64            `cql:"double_col"`
	Decimal   *inf.Dec           `cql:"decimal_col"`
	Bool      bool               `cql:"bool_col"`
	TimeUUID  orm.UUID           `cql:"timeuuid_col" orm:"timeuuid"`
	Timestamp time.Time          `cql:"ts"`
	Date      time.Time          `cql:"date_col" orm:"date"`
	TimeOfDay time.Duration      `cql:"time_col" orm:"time"`
	Duration  orm.Duration       `cql:"duration_col"`
	Blob      []byte             `cql:"blob_col"`
	Inet      net.IP             `cql:"inet_col"`
	List      []int32            `cql:"list_col"`
	Set       []string           `cql:"set_col" orm:"set"`
	SetBig    []int64            `cql:"set_big_col" orm:"set"`
	Map       map[string]float64 `cql:"map_col"`
	Frozen    []string           `cql:"frozen_col" orm:"frozen"`
	Nested    map[string][]int32 `cql:"nested_col"`
	Tuple     Pair               `cql:"tuple_col" orm:"tuple"`
	UDT       Address            `cql:"udt_col"`
	UDTs      []Address          `cql:"udts_col"`
	Vector    []float32          `cql:"vec" orm:"vector=4"`
	Ptr       *string            `cql:"ptr_col"`
}

func TestTypeMapping(t *testing.T) {
	db := buildDB(t)
	m, err := orm.NewModel[Everything](db)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"ascii_col": "ascii", "text_col": "text", "tiny": "tinyint", "small": "smallint",
		"int_col": "int", "big": "bigint", "varint_col": "varint", "float_col": "float",
		"double_col": "double", "decimal_col": "decimal", "bool_col": "boolean",
		"timeuuid_col": "timeuuid", "ts": "timestamp", "date_col": "date", "time_col": "time",
		"duration_col": "duration", "blob_col": "blob", "inet_col": "inet", "id": "uuid",
		"list_col": "list<int>", "set_col": "set<text>", "set_big_col": "set<bigint>",
		"map_col": "map<text, double>", "frozen_col": "frozen<list<text>>",
		"nested_col": "map<text, frozen<list<int>>>", "tuple_col": "frozen<tuple<int, text>>",
		"udt_col": `frozen<"address">`, "udts_col": `list<frozen<"address">>`,
		"vec": "vector<float, 4>", "ptr_col": "text",
	}
	for _, c := range m.Table().Columns {
		if want[c.Name] != c.Type {
			t.Errorf("column %s: type %q, want %q", c.Name, c.Type, want[c.Name])
		}
	}
}

func TestRoundTripEveryType(t *testing.T) {
	db := openDB(t)
	m := newModel[Everything](t, db)
	ctx := t.Context()
	zip := "75001"
	s := "pointer"
	full := Everything{
		ID: orm.NewUUID(), ASCII: "plain ascii", Text: "héllo, wörld; DROP TABLE x; --'\"",
		Tiny: -8, Small: 1600, Int: -32000000, Big: 1 << 60,
		Varint: new(big.Int).Lsh(big.NewInt(1), 100), Float: 1.5, Double: 3.141592653589793,
		Decimal: inf.NewDec(123456789, 4), Bool: true, TimeUUID: orm.NewTimeUUID(),
		Timestamp: time.Date(2026, 11, 25, 13, 14, 15, 123e6, time.UTC),
		Date:      time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC),
		TimeOfDay: 13*time.Hour + 14*time.Minute + 15*time.Second + 999,
		Duration:  orm.Duration{Months: 1, Days: 2, Nanoseconds: 3},
		Blob:      []byte{0, 1, 2, 255}, Inet: net.ParseIP("192.0.2.1").To4(),
		List: []int32{3, 1, 2}, Set: []string{"a", "b"}, SetBig: []int64{7, 9},
		Map: map[string]float64{"x": 1.25}, Frozen: []string{"f1", "f2"},
		Nested: map[string][]int32{"k": {1, 2}},
		Tuple:  Pair{N: 42, S: "answer"},
		UDT: Address{Street: "1 Main St", Zip: &zip, Geo: Geo{Lat: 48.85, Lng: 2.35},
			Tags: []string{"home"}, Extra: map[string]string{"floor": "3"}},
		UDTs:   []Address{{Street: "2 Side St", Geo: Geo{Lat: 1, Lng: 2}}},
		Vector: []float32{0.1, 0.2, 0.3, 0.4},
		Ptr:    &s,
	}
	if err := m.Insert(ctx, &full); err != nil {
		t.Fatal(err)
	}
	got, err := m.Get(ctx, full.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, got, full)

	// A row with only the key: nulls and empty collections come back as zero values.
	empty := Everything{ID: orm.NewUUID(), Vector: []float32{1, 2, 3, 4}}
	if err := m.Insert(ctx, &empty); err != nil {
		t.Fatal(err)
	}
	got, err = m.Get(ctx, empty.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Ptr != nil || got.Varint != nil || got.Decimal != nil || len(got.List) != 0 || len(got.Map) != 0 ||
		got.UDT.Street != "" || got.Text != "" {
		t.Errorf("null columns did not read back as zero values: %+v", got)
	}
}

func checkEqual(t *testing.T, got, want Everything) {
	t.Helper()
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range gv.NumField() {
		name := gv.Type().Field(i).Name
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
		switch gf := g.(type) {
		case *big.Int:
			if gf.Cmp(w.(*big.Int)) != 0 {
				t.Errorf("%s: got %v, want %v", name, g, w)
			}
		case *inf.Dec:
			if gf.Cmp(w.(*inf.Dec)) != 0 {
				t.Errorf("%s: got %v, want %v", name, g, w)
			}
		case time.Time:
			if !gf.Equal(w.(time.Time)) {
				t.Errorf("%s: got %v, want %v", name, g, w)
			}
		case net.IP:
			if !gf.Equal(w.(net.IP)) {
				t.Errorf("%s: got %v, want %v", name, g, w)
			}
		case []string:
			if name == "Set" {
				// sets come back sorted
				if strings.Join(gf, ",") != "a,b" {
					t.Errorf("%s: got %v", name, g)
				}
				continue
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("%s: got %#v, want %#v", name, g, w)
			}
		default:
			if !reflect.DeepEqual(g, w) {
				t.Errorf("%s: got %#v, want %#v", name, g, w)
			}
		}
	}
}

func TestUnfaithfulTypesRejected(t *testing.T) {
	db := buildDB(t)
	type unsigned struct {
		ID uint32 `orm:"pk"`
	}
	type dur struct {
		ID int64 `orm:"pk"`
		D  time.Duration
	}
	type iface struct {
		ID int64 `orm:"pk"`
		X  any
	}
	type nokey struct {
		ID int64
	}
	type vecType struct {
		ID int64     `orm:"pk"`
		V  []float64 `orm:"vector=3"`
	}
	type badTag struct {
		ID int64 `orm:"pk,primary"`
	}
	type badName struct {
		ID int64 `cql:"id;drop" orm:"pk"`
	}
	cases := []struct {
		name string
		new  func() error
		want string
	}{
		{"unsigned", func() error { _, err := orm.NewModel[unsigned](db); return err }, "no unsigned"},
		{"time.Duration", func() error { _, err := orm.NewModel[dur](db); return err }, "orm.Duration"},
		{"interface", func() error { _, err := orm.NewModel[iface](db); return err }, "interface"},
		{"no key", func() error { _, err := orm.NewModel[nokey](db); return err }, "no partition key"},
		{"vector of float64", func() error { _, err := orm.NewModel[vecType](db); return err }, "[]float32"},
		{"unknown option", func() error { _, err := orm.NewModel[badTag](db); return err }, `"primary"`},
		{"bad column name", func() error { _, err := orm.NewModel[badName](db); return err }, `"id;drop"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.new()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
			if !errors.Is(err, orm.ErrInvalidModel) && !errors.Is(err, orm.ErrInvalidIdentifier) {
				t.Errorf("error %v does not wrap ErrInvalidModel or ErrInvalidIdentifier", err)
			}
		})
	}
}

func TestVectorDimensionChecked(t *testing.T) {
	db := openDB(t)
	m := newModel[Everything](t, db)
	bad := Everything{ID: orm.NewUUID(), Vector: []float32{1, 2, 3}}
	err := m.Insert(t.Context(), &bad)
	if !errors.Is(err, orm.ErrInvalidValue) || !strings.Contains(err.Error(), "vector<float, 4>") {
		t.Fatalf("got %v, want ErrInvalidValue naming vector<float, 4>", err)
	}
}
