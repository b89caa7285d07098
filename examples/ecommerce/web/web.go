package web

import (
	"bytes"
	"embed"
	"io/fs"
	"net/http"
	"path"
	"time"
)

// The message types the pages show, as given to realtime.Hub.Broadcast.
const (
	// TypeLowStockAlert is a LowStockAlert, sent to the room "admin".
	TypeLowStockAlert = "low_stock_alert"
	// TypeOrderStatusUpdate is an OrderStatusUpdate, sent to "admin" and to
	// the customer's room "user:<id>".
	TypeOrderStatusUpdate = "order_status_update"
	// TypeNotification is a notification of the notification service
	// (notification.RoomMessageType), sent to "user:<id>" (and, for a
	// low-stock alert, to "admin"). One of kind low_stock_alert or
	// order_status_update is shown as a TypeLowStockAlert or a
	// TypeOrderStatusUpdate whose fields are in the notification's data.
	TypeNotification = "notification"
)

// LowStockAlert is the data of a TypeLowStockAlert message: a product whose
// stock has fallen to its threshold or below.
type LowStockAlert struct {
	ProductID string `json:"product_id"`
	Name      string `json:"name"`
	// Quantity is the stock left; Threshold the level at or below which the
	// alert is sent.
	Quantity  int `json:"quantity"`
	Threshold int `json:"threshold"`
}

// OrderStatusUpdate is the data of a TypeOrderStatusUpdate message.
type OrderStatusUpdate struct {
	OrderID string `json:"order_id"`
	// Status is the order's new status, shown as it is ("confirmed",
	// "shipped", ...).
	Status string `json:"status"`
}

// ContentSecurityPolicy is the Content-Security-Policy of every answer.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'"

//go:embed static
var static embed.FS

// pages maps the page paths to their files in static.
var pages = map[string]string{"/admin": "static/admin.html", "/order": "static/order.html"}

// Handler returns the handler of the pages (/admin, /order) and of their
// files (/static/...). It is safe for concurrent use and holds no state:
// the pages talk to the hub, not to it.
func Handler() http.Handler {
	mux := http.NewServeMux()
	for p, file := range pages {
		mux.HandleFunc("GET "+p, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-cache")
			serveFile(w, r, file)
		})
	}
	mux.HandleFunc("GET /static/{file}", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("file")
		if path.Ext(name) == ".html" { // the pages have their own paths
			http.NotFound(w, r)
			return
		}
		serveFile(w, r, "static/"+name)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		mux.ServeHTTP(w, r)
	})
}

// contentTypes are the types of the files served, by extension: a table of
// its own, not the system's mime.types, so the answer is the same on every
// machine.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
}

// serveFile serves the embedded file name, or 404 if there is none.
func serveFile(w http.ResponseWriter, r *http.Request, name string) {
	ctype, ok := contentTypes[path.Ext(name)]
	b, err := fs.ReadFile(static, name)
	if !ok || err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", ctype)
	// Embedded files have no modification time: ServeContent answers
	// ranges and HEAD, and sets no Last-Modified.
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
}
