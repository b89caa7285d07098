# Local development: real Cassandra 5, Redis and Kafka on 127.0.0.1.
# See docs/development.md.

GO ?= go
DEV := $(GO) run ./cmd/cassandraorm dev

.PHONY: up down status test demo bench

up:
	$(DEV) up --with kafka

down:
	$(DEV) down

status:
	$(DEV) status

test: up
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	$(GO) test -race -count=1 ./...

demo: up
	$(GO) run ./examples/quickstart
	$(GO) run ./examples/ecommerce/cmd/users
	$(GO) run ./examples/ecommerce/cmd/shop
	$(GO) run ./examples/ecommerce/cmd/products -demo
	$(GO) run ./examples/ecommerce/cmd/platform

bench: up
	$(GO) test -run '^$$' -bench . -benchmem ./...
