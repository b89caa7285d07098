package graphql_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/cassandraorm/cassandraorm-go/graphql"
	"github.com/cassandraorm/cassandraorm-go/orm"
)

// Book is the examples' model.
type Book struct {
	ISBN   string   `cql:"isbn" orm:"pk"`
	Title  string   `cql:"title" validate:"required"`
	Author string   `cql:"author" orm:"index"`
	Pages  int64    `cql:"pages"`
	Tags   []string `cql:"tags" orm:"set"`
}

// Example builds a schema from a model and shows the query fields it generates and
// a query refused by the depth limit before any resolver runs. (A detached DB
// builds statements but runs none; serve a real one with Schema.ServeHTTP.)
func Example() {
	db, err := orm.Detached("shop")
	if err != nil {
		log.Fatal(err)
	}
	books, err := orm.NewModel[Book](db)
	if err != nil {
		log.Fatal(err)
	}
	s, err := graphql.New(graphql.Config{MaxDepth: 3})
	if err != nil {
		log.Fatal(err)
	}
	if err := graphql.Add(s, books); err != nil {
		log.Fatal(err)
	}
	if err := s.Build(); err != nil {
		log.Fatal(err)
	}
	for _, line := range strings.Split(s.SDL(), "\n") {
		if strings.HasPrefix(line, "  book") || line == "  pages: Long!" {
			fmt.Println(strings.TrimSpace(line))
		}
	}
	r := s.Execute(context.Background(), graphql.Request{Query: `{ bookByAuthor(value: "Le Guin") { edges { node { title } } } }`})
	fmt.Println(r.Errors[0].Extensions["code"], r.Errors[0].Message)
	// Output:
	// pages: Long!
	// book(isbn: String!): Book
	// bookByPartition(isbn: String!, first: Int, after: String): BookConnection!
	// bookByAuthor(value: String!, first: Int, after: String): BookConnection!
	// LIMIT query depth 4 exceeds the limit of 3
}
