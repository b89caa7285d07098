// Package orm maps Go structs to Apache Cassandra 5 tables: typed models, schema
// sync, CRUD, queries checked against the schema, paging, lightweight transactions,
// unique constraints, batches, hooks and validation.
//
// A model is a struct whose tags say how it maps to a table:
//
//	type User struct {
//		ID    orm.UUID `cql:"id" orm:"pk"`
//		Email string   `cql:"email" orm:"unique" validate:"required,email"`
//		Tags  []string `cql:"tags" orm:"set,index"`
//	}
//
//	db, _ := orm.Open(ctx, orm.Config{Hosts: []string{"127.0.0.1:9042"}, Keyspace: "shop"})
//	users, _ := orm.NewModel[User](db)   // reads the tags; fails on a type with no faithful CQL type
//	_ = db.Sync(ctx, users)              // CREATE TABLE / TYPE / INDEX, or safe ALTERs
//	_ = users.Insert(ctx, &u)
//	u, err := users.Get(ctx, id)         // errors.Is(err, orm.ErrNotFound)
//	for u, err := range users.Query().Where(orm.Contains("tags", "vip")).All(ctx) { ... }
//
// # Safety
//
// Values reach the server only through bind markers, each encoded for its column's
// type while the statement is built: a value that does not fit its column fails with
// ErrInvalidValue, naming the table and the column, before anything is sent.
// Identifiers come from the model,
// are checked (letters, digits, underscores) and always quoted; a column name in a
// query that the model does not have fails with ErrUnknownColumn. A query that would
// need ALLOW FILTERING (it restricts neither the whole partition key nor an indexed
// column) fails with ErrFiltering, naming what is missing, unless AllowFiltering is
// called.
//
// # Writes
//
// Nil pointers, slices and maps, empty non-frozen collections and zero times and
// UUIDs in non-key columns are left unset, so writing a struct never writes a
// tombstone for a field it does not hold; WithNulls asks for nulls. Lightweight
// transactions, counter increments and list appends are marked non-idempotent, so the
// driver never retries them; other writes are idempotent.
//
// # Concurrency
//
// DB, Model and Query values are safe for concurrent use. A Batch is not.
//
// The tag reference and the Go to CQL type table are in docs/orm.md.
package orm
