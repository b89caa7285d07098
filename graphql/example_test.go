package graphql_test

import (
	"context"
	"encoding/json"
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

// Example_federation declares a read-only subgraph: a custom query, a computed
// field resolved in one batch for all parents, and a reference to an entity of
// another subgraph, then runs them (nothing here reads the database) and prints
// the served SDL's first line, the link to the federation spec.
func Example_federation() {
	db, err := orm.Detached("shop")
	if err != nil {
		log.Fatal(err)
	}
	books := orm.MustModel[Book](db)
	s, err := graphql.New(graphql.Config{})
	if err != nil {
		log.Fatal(err)
	}
	for _, err := range []error{
		graphql.Add(s, books, graphql.ReadOnly()),
		graphql.AddQuery(s, "featured", "n: Int = 1", func(_ context.Context, args map[string]any) ([]Book, error) {
			all := []Book{{ISBN: "0-441-47812-3", Title: "The Left Hand of Darkness", Author: "le-guin"}}
			return all[:min(len(all), int(args["n"].(int64)))], nil
		}),
		graphql.AddField(s, "shout", "", func(_ context.Context, bs []Book, _ map[string]any) ([]string, error) {
			out := make([]string, len(bs))
			for i, b := range bs {
				out[i] = strings.ToUpper(b.Title)
			}
			return out, nil
		}),
		graphql.Reference[Book](s, "writer", "Author", map[string]string{"id": "author"}),
	} {
		if err != nil {
			log.Fatal(err)
		}
	}
	if err := s.Build(); err != nil {
		log.Fatal(err)
	}
	fmt.Print(strings.SplitAfter(s.SDL(), "\n")[0])
	r := s.Execute(context.Background(), graphql.Request{Query: `{ featured { shout writer { __typename id } } }`})
	b, _ := json.Marshal(r)
	fmt.Println(string(b))
	// Output:
	// extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])
	// {"data":{"featured":[{"shout":"THE LEFT HAND OF DARKNESS","writer":{"__typename":"Author","id":"le-guin"}}]}}
}
