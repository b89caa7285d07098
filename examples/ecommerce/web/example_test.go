package web_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/redis/go-redis/v9"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/web"
	"github.com/cassandraorm/cassandraorm-go/realtime"
)

// The pages beside the hub's endpoint on one mux, so that the pages reach
// the hub at /ws on their own origin. A browser opens
// /admin#token=<token>, the token being one of realtime.IssueToken. (It
// runs against the Redis of the development environment.)
func Example() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	bus, err := realtime.NewRedisBus(realtime.RedisConfig{Client: rdb})
	if err != nil {
		log.Fatal(err)
	}
	hub, err := realtime.New(realtime.Config{Bus: bus, HMACKey: []byte("a key of at least thirty-two bytes!")})
	if err != nil {
		log.Fatal(err)
	}
	defer hub.Close()

	mux := http.NewServeMux()
	mux.Handle("/ws", hub.Handler())
	mux.Handle("/", web.Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, path := range []string{"/admin", "/static/app.js", "/ws", "/nothing"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		fmt.Println(path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// Output:
	// /admin 200 text/html; charset=utf-8
	// /static/app.js 200 text/javascript; charset=utf-8
	// /ws 401 text/plain; charset=utf-8
	// /nothing 404 text/plain; charset=utf-8
}
