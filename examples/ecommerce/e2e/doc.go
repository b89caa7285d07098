// Package e2e holds the end-to-end tests of the shop. TestShop runs the real
// services (card network, inventory, payments, orders with their saga, the
// notification service with its worker and the Watcher) on keyspaces and
// tenants of the run, the real-time hub on Redis with the web pages on one
// listener (platform.Site, as command notifications serves them), and opens
// the pages in headless Chromium. TestAnalyzePlatformStatements runs the same
// services with the user and product services beside them, drives their main
// flows over HTTP, records every statement each store runs and analyses it
// (package analyze) against its keyspace's live schema: no filtering scan, no
// full scan, no refusal (docs/analyze.md has what it found). The package has
// no code of its own besides the tests:
//
//	go test -race ./examples/ecommerce/e2e/
package e2e
