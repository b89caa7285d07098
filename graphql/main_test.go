package graphql_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/graphql"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/testenv"
	"gopkg.in/inf.v0"
)

var env = testenv.New("graphql_test")

func TestMain(m *testing.M) { env.Main(m) }

// Address is a UDT.
type Address struct {
	Street string `cql:"street"`
	City   string `cql:"city"`
	Zip    *int32 `cql:"zip"`
}

// User is a platform-shaped user: an SAI-indexed email, a UDT, a map and a set.
type User struct {
	ID      orm.UUID          `cql:"id" orm:"pk"`
	Email   string            `cql:"email" orm:"index"`
	Name    string            `cql:"name" validate:"required"`
	Age     int32             `cql:"age" validate:"min=0"`
	Address Address           `cql:"address"`
	Prefs   map[string]string `cql:"prefs"`
	Tags    []string          `cql:"tags" orm:"set"`
}

// Order is an order by user, clustered by sequence number, newest first.
type Order struct {
	UserID orm.UUID `cql:"user_id" orm:"pk"`
	Seq    int32    `cql:"seq" orm:"ck=desc"`
	Total  inf.Dec  `cql:"total"`
}

// Product has a 384-dimension vector with an SAI index, and an indexed brand.
type Product struct {
	Category string    `cql:"category" orm:"pk"`
	SKU      string    `cql:"sku" orm:"ck"`
	Brand    string    `cql:"brand" orm:"index"`
	SellerID orm.UUID  `cql:"seller_id"`
	Vec      []float32 `cql:"vec" orm:"vector=384,index"`
}

// Scalars has a column of every scalar CQL type.
type Scalars struct {
	Key      string        `cql:"key" orm:"pk"`
	Ascii    string        `cql:"ascii_col" orm:"ascii"`
	Tiny     int8          `cql:"tiny"`
	Small    int16         `cql:"small"`
	Int      int32         `cql:"int_col"`
	Big      int64         `cql:"big"`
	F32      float32       `cql:"f32"`
	F64      float64       `cql:"f64"`
	Bool     bool          `cql:"bool_col"`
	UUID     orm.UUID      `cql:"uuid_col"`
	TimeUUID orm.UUID      `cql:"timeuuid_col" orm:"timeuuid"`
	TS       time.Time     `cql:"ts"`
	Date     time.Time     `cql:"date_col" orm:"date"`
	Tod      time.Duration `cql:"tod" orm:"time"`
	Dur      orm.Duration  `cql:"dur"`
	Dec      inf.Dec       `cql:"dec"`
	Var      big.Int       `cql:"var"`
	IP       net.IP        `cql:"ip"`
	Blob     []byte        `cql:"blob_col"`
	Opt      *int64        `cql:"opt"`
}

// fixture is a tenanted DB with the models synced for two tenants, a built schema
// and an HTTP server serving it.
type fixture struct {
	db       *orm.DB
	users    *orm.Model[User]
	orders   *orm.Model[Order]
	products *orm.Model[Product]
	schema   *graphql.Schema
	srv      *httptest.Server
	resolves atomic.Int64 // root resolvers run
	reads    atomic.Int64 // statements the ORM ran
}

var tenants = []string{"acme", "globex"}

func newFixture(t testing.TB, cfg graphql.Config) *fixture {
	t.Helper()
	f := &fixture{}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 10
	}
	base, err := orm.New(env.Session(t), env.Keyspace(), orm.ObserverFunc(func(ctx context.Context, e orm.QueryEvent) {
		f.reads.Add(1)
	}))
	if err != nil {
		t.Fatal(err)
	}
	if f.db, err = base.WithTenancy(orm.Tenancy{}); err != nil {
		t.Fatal(err)
	}
	f.users = orm.MustModel[User](f.db)
	f.orders = orm.MustModel[Order](f.db)
	f.products = orm.MustModel[Product](f.db)
	scalars := orm.MustModel[Scalars](f.db)
	for _, id := range tenants {
		if err := f.db.Sync(tenant.With(t.Context(), id), f.users, f.orders, f.products, scalars); err != nil {
			t.Fatal(err)
		}
	}
	cfg.OnResolve = func(context.Context, string) { f.resolves.Add(1) }
	if f.schema, err = graphql.New(cfg); err != nil {
		t.Fatal(err)
	}
	for _, add := range []error{graphql.Add(f.schema, f.users), graphql.Add(f.schema, f.orders),
		graphql.Add(f.schema, f.products), graphql.Add(f.schema, scalars)} {
		if add != nil {
			t.Fatal(add)
		}
	}
	if err := graphql.Relate[Order](f.schema, "user", f.users, "user_id"); err != nil {
		t.Fatal(err)
	}
	if err := graphql.Relate[Product](f.schema, "seller", f.users, "seller_id"); err != nil {
		t.Fatal(err)
	}
	if err := f.schema.Build(); err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The tenant header stands in for tenanthttp's middleware.
		f.schema.ServeHTTP(w, r.WithContext(tenant.With(r.Context(), r.Header.Get("X-Tenant"))))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// result is a decoded GraphQL response.
type result struct {
	Data   map[string]any  `json:"data"`
	Errors []graphql.Error `json:"errors"`
	Status int             `json:"-"`
}

// post sends one request as tenant and decodes the answer.
func (f *fixture) post(t testing.TB, tenantID, query string, vars map[string]any) result {
	t.Helper()
	body, _ := json.Marshal(graphql.Request{Query: query, Variables: vars})
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, f.srv.URL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Tenant", tenantID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r result
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	r.Status = resp.StatusCode
	return r
}

func quoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
