// Package e2e holds the end-to-end test of the shop in a browser: the real
// services (card network, inventory, payments, orders with their saga, the
// notification service with its worker and the Watcher) on keyspaces and
// tenants of the run, the real-time hub on Redis with the web pages on one
// listener (platform.Site, as command notifications serves them), and the
// pages opened in headless Chromium. It has no code of its own besides the
// test:
//
//	go test -race ./examples/ecommerce/e2e/
package e2e
