package migrate_test

import (
	"context"
	"embed"
	"fmt"
	"log"

	"github.com/cassandraorm/cassandraorm-go/migrate"
	"github.com/cassandraorm/cassandraorm-go/orm"
)

// exampleMigrations holds 0001_create_users and 0002_email_index, .up.cql and .down.cql.
//
//go:embed testdata/example/*.cql
var exampleMigrations embed.FS

type User struct {
	ID    string `cql:"id" orm:"pk"`
	Email string `cql:"email"`
	Name  string `cql:"name"`
}

// Embedded .cql migrations and a Go data migration in one Migrator: Up applies them,
// Status lists them, Down rolls the last one back.
func Example() {
	ctx := context.Background()
	db, err := orm.Open(ctx, orm.Config{Hosts: env.Hosts(), Keyspace: "migrate_example"})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := db.CreateKeyspace(ctx, db.Keyspace(), orm.SimpleStrategy(1)); err != nil {
		log.Fatal(err)
	}
	defer db.DropKeyspace(ctx, db.Keyspace())

	m, err := migrate.New(db, migrate.Config{})
	if err != nil {
		log.Fatal(err)
	}
	if err := m.AddFS(exampleMigrations, "testdata/example"); err != nil {
		log.Fatal(err)
	}
	err = m.Add(migrate.Migration{
		Version: 3,
		Name:    "seed_admin",
		Up: func(ctx context.Context, db *orm.DB) error {
			users, err := orm.NewModel[User](db, orm.TableName("users"))
			if err != nil {
				return err
			}
			return users.Insert(ctx, &User{ID: "admin", Email: "admin@example.com", Name: "Admin"})
		},
		Down: func(ctx context.Context, db *orm.DB) error {
			users, err := orm.NewModel[User](db, orm.TableName("users"))
			if err != nil {
				return err
			}
			return users.Delete(ctx, "admin")
		},
	})
	if err != nil {
		log.Fatal(err)
	}

	applied, err := m.Up(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range applied {
		fmt.Println("applied", r.Version, r.Name)
	}
	rolledBack, err := m.Down(ctx, 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("rolled back", rolledBack[0].Version, rolledBack[0].Name)
	status, err := m.Status(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range status {
		fmt.Println(s.Label(), s.State)
	}
	// Output:
	// applied 1 create_users
	// applied 2 email_index
	// applied 3 seed_admin
	// rolled back 3 seed_admin
	// 0001_create_users applied
	// 0002_email_index applied
	// 0003_seed_admin pending
}

// SplitCQL is how .cql files are cut into statements: at semicolons outside strings,
// quoted names, $$ blocks and comments.
func ExampleSplitCQL() {
	stmts, err := migrate.SplitCQL(`-- seed
INSERT INTO notes (id, body) VALUES (1, 'a; b');
/* two; */ INSERT INTO notes (id, body) VALUES (2, $$c; d$$)`)
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range stmts {
		fmt.Printf("line %d: %s\n", s.Line, s.Text)
	}
	// Output:
	// line 2: INSERT INTO notes (id, body) VALUES (1, 'a; b')
	// line 3: INSERT INTO notes (id, body) VALUES (2, $$c; d$$)
}
