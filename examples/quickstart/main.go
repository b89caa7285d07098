// Command quickstart is the README's first program: it connects to the local node,
// creates a keyspace and a typed model's table, writes rows, reads them back by key,
// by index and page by page, and shows a lightweight transaction and a unique
// constraint at work.
//
//	make demo    # starts the dev servers, then runs this
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// User is a typed model: the struct tags say how it maps to a Cassandra table.
type User struct {
	ID        orm.UUID  `cql:"id" orm:"pk"`
	Email     string    `cql:"email" orm:"unique" validate:"required,email"`
	Name      string    `cql:"name" validate:"required,maxlen=100"`
	Country   string    `cql:"country" orm:"index"`
	Tags      []string  `cql:"tags" orm:"set"`
	CreatedAt time.Time `cql:"created_at"`
}

// BeforeInsert fills in the creation time.
func (u *User) BeforeInsert(context.Context) error {
	if u.CreatedAt.IsZero() {
		u.CreatedAt = time.Now().UTC().Truncate(time.Millisecond)
	}
	return nil
}

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	hosts := strings.Split(envOr("CASSANDRA_HOSTS", "127.0.0.1:9042"), ",")
	db, err := orm.Open(ctx, orm.Config{Hosts: hosts, Keyspace: "quickstart"})
	if err != nil {
		return fmt.Errorf("%w (start the node with: make up)", err)
	}
	defer db.Close()

	if err := db.CreateKeyspace(ctx, "quickstart", orm.SimpleStrategy(1)); err != nil {
		return err
	}
	users, err := orm.NewModel[User](db)
	if err != nil {
		return err
	}
	if err := db.Sync(ctx, users); err != nil { // table, SAI index, unique lookup table
		return err
	}

	// Fixed ids keep the demo repeatable: inserting the same row again overwrites it.
	people := []User{
		{ID: mustUUID("6f1c0d4e-0000-4000-8000-000000000001"), Email: "ada@example.com", Name: "Ada", Country: "UK", Tags: []string{"math"}},
		{ID: mustUUID("6f1c0d4e-0000-4000-8000-000000000002"), Email: "linus@example.com", Name: "Linus", Country: "FI"},
		{ID: mustUUID("6f1c0d4e-0000-4000-8000-000000000003"), Email: "grace@example.com", Name: "Grace", Country: "US", Tags: []string{"navy", "cobol"}},
	}
	for i := range people {
		if err := users.Insert(ctx, &people[i]); err != nil {
			return err
		}
	}

	fmt.Println("by key:")
	u, err := users.Get(ctx, people[0].ID)
	if err != nil {
		return err
	}
	fmt.Printf("  %s <%s> %s %v\n", u.Name, u.Email, u.Country, u.Tags)

	fmt.Println("by the SAI index on country = US:")
	for u, err := range users.Query().Where(orm.Eq("country", "US")).All(ctx) {
		if err != nil {
			return err
		}
		fmt.Printf("  %s <%s>\n", u.Name, u.Email)
	}

	fmt.Println("a second account with Ada's email:")
	dup := User{ID: orm.NewUUID(), Email: "ada@example.com", Name: "Impostor"}
	var conflict *orm.ConflictError
	if err := users.Insert(ctx, &dup); errors.As(err, &conflict) {
		fmt.Printf("  refused: %v\n", err)
	} else if err != nil {
		return err
	}

	fmt.Println("an invalid user:")
	if err := users.Insert(ctx, &User{ID: orm.NewUUID(), Email: "not-an-email"}); errors.Is(err, orm.ErrValidation) {
		fmt.Printf("  refused: %v\n", err)
	}

	fmt.Println("a scan without a key or index:")
	if _, err := users.Query().Where(orm.Eq("name", "Ada")).One(ctx); errors.Is(err, orm.ErrFiltering) {
		fmt.Printf("  refused: %v\n", err)
	}

	n, err := users.Query().AllowFiltering().Count(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("%d users in quickstart.user\n", n)
	return nil
}

func mustUUID(s string) orm.UUID {
	u, err := orm.ParseUUID(s)
	if err != nil {
		panic(err)
	}
	return u
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
