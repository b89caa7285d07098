package realtime_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cassandraorm/cassandraorm-go/realtime"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// A hub on Redis, serving its endpoint, and a service broadcasting an order
// update to its customer's room. (Not run: it needs Redis.)
func Example() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	bus, err := realtime.NewRedisBus(realtime.RedisConfig{Client: rdb})
	if err != nil {
		log.Fatal(err)
	}
	hub, err := realtime.New(realtime.Config{
		Bus:            bus,
		HMACKey:        []byte("a key of at least thirty-two bytes!"),
		AllowedOrigins: []string{"shop.example.com"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer hub.Close()
	http.Handle("/ws", hub.Handler())

	ctx := tenant.With(context.Background(), "acme")
	id, err := hub.Broadcast(ctx, "user:42", "order_status_update", map[string]string{"order": "o-1", "status": "shipped"})
	if err != nil {
		log.Fatal(err) // it may have been sent all the same: it is not retried
	}
	fmt.Println("sent", id)
}

// The default policy: a user joins their own room, an admin the admin
// room, each within their token's tenant.
func ExampleDefaultPolicy() {
	ada := realtime.Claims{User: "42", Tenant: "acme"}
	root := realtime.Claims{User: "1", Tenant: "acme", Roles: []string{"admin"}}
	for _, tc := range []struct {
		who  realtime.Claims
		room string
	}{{ada, "user:42"}, {ada, "user:43"}, {ada, "admin"}, {root, "admin"}} {
		err := realtime.DefaultPolicy(context.Background(), tc.who, tc.room)
		fmt.Printf("user %s joins %s: %v\n", tc.who.User, tc.room, err == nil)
	}
	// Output:
	// user 42 joins user:42: true
	// user 42 joins user:43: false
	// user 42 joins admin: false
	// user 1 joins admin: true
}

// A service issues the token a browser then opens the endpoint with, as
// wss://host/ws?token=....
func ExampleIssueToken() {
	key := []byte("a key of at least thirty-two bytes!")
	tok, err := realtime.IssueToken(key, realtime.Claims{User: "42", Tenant: "acme", Roles: []string{"customer"}}, 15*time.Minute)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(tok) > 0)
	_, err = realtime.IssueToken(key, realtime.Claims{User: "42", Tenant: "ACME"}, 15*time.Minute)
	fmt.Println(errors.Is(err, tenant.ErrInvalidID))
	// Output:
	// true
	// true
}
