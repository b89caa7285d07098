// Package web is the shop's browser UI: two live pages on the realtime
// hub, served from files embedded in the binary, with no build step and no
// framework.
//
//	mux := http.NewServeMux()
//	mux.Handle("/ws", hub.Handler()) // realtime.Hub
//	mux.Handle("/", web.Handler())   // /admin, /order, /static/
//
// # Pages
//
// /admin is the administrators' dashboard: it joins the room "admin" and
// lists, newest first, the low-stock alerts (#alerts li) and the order
// status updates (#orders li) broadcast there. /order is a customer's page:
// it joins "user:<sub>", sub being the token's user, and lists their order
// status updates (#orders li) and notifications (#notifications li). Each
// item carries the message's id as data-id, its type as data-type and its
// room as data-room (ids are unique within a room only); a message already
// shown (a resumed join may replay one) is not shown again.
//
// A page reads its token from the URL's fragment, #token=..., which the
// browser does not send with the page's request, and connects to the hub
// at the query parameter ws (a ws: or wss: URL), by default /ws on the
// page's own origin, with the token as the query parameter "token".
//
// # States
//
// #state reads "connecting", "live" or "refused", and #detail says why:
//
//   - connecting: a socket is being opened, or will be after a pause that
//     doubles from 200 ms to 5 s after each failure.
//   - live: the socket is open and every room of the page is joined.
//   - refused: the hub refused the page, which stops trying: a join
//     answered with the error "forbidden" or "invalid_room", or a
//     handshake refused with 401 or 403. A browser does not tell a page why
//     a WebSocket handshake failed, so a page whose hub is on its own origin
//     asks the hub again over plain HTTP and reads the status; a page whose
//     hub is on another origin cannot (CSP and CORS forbid it), and takes a
//     handshake that fails before any socket of the page has opened as a
//     refusal (it may also be that no hub listens there).
//
// After a connection is lost, the page reconnects and joins each room
// again with since set to the last id it has of the room, so the hub
// replays what came meanwhile; if the hub no longer has it (a "gap"
// frame), the page shows a notice, #gap, asking to reload.
//
// # Messages
//
// The pages show these message types (others are ignored): TypeLowStockAlert
// with a LowStockAlert, TypeOrderStatusUpdate with an OrderStatusUpdate,
// and TypeNotification with a notification as the notification service
// broadcasts it. A notification of kind low_stock_alert or
// order_status_update (the notification service's Watcher sends them) is
// shown as the message of that type, its data holding the message's fields
// as strings; any other notification is listed, on /order only, by its
// "subject" and "body".
//
// # Headers
//
// Every answer carries a strict Content-Security-Policy (scripts, styles
// and connections to this origin only, plus WebSocket connections to any
// hub; no inline script; no framing), X-Content-Type-Options: nosniff and
// Referrer-Policy: no-referrer. Paths other than /admin, /order and the
// files under /static/ are 404; methods other than GET and HEAD are 405.
package web
