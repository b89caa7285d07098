// The shop's live pages: /admin (room "admin") and /order (room
// "user:<sub>"). See the package documentation of
// examples/ecommerce/web for the protocol, the states and the messages.
'use strict';

(() => {
  const page = document.body.dataset.page;
  const el = (id) => document.getElementById(id);

  // The token comes in the fragment, which the browser never sends to the
  // server; the hub gets it as the query parameter "token" of the
  // WebSocket URL (a browser cannot set headers on a WebSocket).
  const token = new URLSearchParams(location.hash.slice(1)).get('token') || '';

  // claims decodes the token's payload without checking it: the hub checks
  // it; the page only needs "sub" to name the user's room.
  function claims(tok) {
    try {
      const part = tok.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      const bin = atob(part + '='.repeat((4 - (part.length % 4)) % 4));
      return JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
    } catch {
      return null;
    }
  }

  function setState(state, detail) {
    const s = el('state');
    s.textContent = state;
    s.dataset.state = state;
    el('detail').textContent = detail || '';
  }

  // The hub's URL: the query parameter "ws", or /ws on this origin.
  let hub;
  try {
    hub = new URL(new URLSearchParams(location.search).get('ws') || '/ws', location.href);
    if (hub.protocol === 'http:' || hub.protocol === 'https:') {
      hub.protocol = hub.protocol === 'https:' ? 'wss:' : 'ws:';
    }
  } catch {
    hub = null;
  }
  if (!hub || (hub.protocol !== 'ws:' && hub.protocol !== 'wss:')) {
    setState('refused', 'the ws parameter is not a ws: or wss: URL');
    return;
  }
  if (token) {
    hub.searchParams.set('token', token);
  }
  const sameOrigin = hub.host === location.host && (hub.protocol === 'wss:') === (location.protocol === 'https:');

  const sub = claims(token)?.sub;
  const rooms = page === 'admin' ? ['admin'] : typeof sub === 'string' && sub ? ['user:' + sub] : [];

  // last[room] is the id to resume the room from: the last message's, or
  // the "last" of the latest joined or gap frame.
  const last = Object.fromEntries(rooms.map((r) => [r, '']));
  const joined = new Set();
  const seen = new Set(); // room + " " + message id: what is shown already

  let ws = null;
  let opened = false; // the current socket has opened
  let everOpened = false; // some socket of this page has opened
  let attempt = 0; // reconnections since the page was last live
  let stopped = false;

  function connect() {
    setState('connecting', attempt ? 'reconnecting (attempt ' + attempt + ')' : '');
    opened = false;
    const sock = new WebSocket(hub.href);
    ws = sock;
    sock.onopen = () => {
      opened = everOpened = true;
      if (rooms.length === 0) {
        refuse('the token names no user');
        return;
      }
      for (const room of rooms) {
        const join = { op: 'join', room };
        if (last[room]) {
          join.since = last[room];
        }
        sock.send(JSON.stringify(join));
      }
    };
    sock.onmessage = (ev) => {
      let f;
      try {
        f = JSON.parse(ev.data);
      } catch {
        console.warn('not a frame:', ev.data);
        return;
      }
      frame(sock, f);
    };
    sock.onclose = (ev) => {
      if (ws !== sock) {
        return;
      }
      ws = null;
      joined.clear();
      if (stopped) {
        return;
      }
      if (opened) {
        retry('the connection closed (' + ev.code + ')');
      } else {
        handshakeFailed();
      }
    };
  }

  // handshakeFailed handles a socket that closed before it opened. A
  // browser does not tell a page why (a 401, a 403, no server at all), so
  // for a hub on this origin the page asks it again over plain HTTP, where
  // the status is visible: 401 (no valid token) and 403 are refusals; a
  // hub that accepts the token answers 426 (no upgrade asked), and then
  // the page tries again. A hub on another origin cannot be asked (CSP and
  // CORS forbid it): a handshake that fails before any socket of the page
  // opened is taken as a refusal, with that caveat shown.
  async function handshakeFailed() {
    if (sameOrigin) {
      let status = 0;
      try {
        const probe = new URL(hub.href);
        probe.protocol = probe.protocol === 'wss:' ? 'https:' : 'http:';
        status = (await fetch(probe.href, { cache: 'no-store', credentials: 'omit' })).status;
      } catch {
        // no answer: the server is away, try again
      }
      if (status === 401 || status === 403) {
        refuse('the hub answered ' + status + (status === 401 ? ' (no valid token)' : ' (forbidden)'));
      } else {
        retry(status ? 'the handshake failed; the hub answers ' + status : 'the hub does not answer');
      }
      return;
    }
    if (!everOpened) {
      refuse('the hub at ' + hub.host + ' refused the handshake (a browser is not told why: an origin or a token refused, or no hub there)');
    } else {
      retry('the handshake failed');
    }
  }

  function retry(detail) {
    attempt++;
    const delay = Math.min(200 * 2 ** (attempt - 1), 5000) * (0.5 + Math.random() / 2);
    setState('connecting', detail + '; again in ' + Math.round(delay) + ' ms');
    setTimeout(connect, delay);
  }

  function refuse(detail) {
    stopped = true;
    setState('refused', detail);
    if (ws) {
      ws.close(1000, 'refused');
    }
  }

  function frame(sock, f) {
    if (!rooms.includes(f.room)) {
      return;
    }
    switch (f.op) {
      case 'message':
        last[f.room] = f.id;
        show(f);
        break;
      case 'gap':
        showGap(f.room);
      // fallthrough: a gap also puts the client in the room
      case 'joined':
        if (f.last) {
          last[f.room] = f.last;
        }
        joined.add(f.room);
        if (joined.size === rooms.length) {
          attempt = 0;
          setState('live');
        }
        break;
      case 'error':
        if (f.code === 'forbidden' || f.code === 'invalid_room') {
          refuse('join ' + f.room + ': ' + f.code);
        } else if (f.code === 'unavailable') {
          sock.close(1000, 'unavailable');
        } else {
          console.warn('hub error', f.room, f.code, f.error);
        }
        break;
    }
  }

  function showGap(room) {
    let g = el('gap');
    if (!g) {
      g = document.createElement('p');
      g.id = 'gap';
      g.setAttribute('role', 'alert');
      document.querySelector('main').before(g);
    }
    g.textContent = 'Some live updates of ' + room + ' were missed while the connection was away: reload the page to see everything.';
  }

  // item builds a list item of message f from parts: strings, or
  // [className, text] pairs shown in a span.
  function item(f, ...parts) {
    const li = document.createElement('li');
    li.dataset.id = f.id;
    li.dataset.type = f.type;
    li.dataset.room = f.room;
    for (const p of parts) {
      if (typeof p === 'string') {
        li.append(p);
      } else {
        const span = document.createElement('span');
        span.className = p[0];
        span.textContent = String(p[1] ?? '');
        li.append(span);
      }
    }
    return li;
  }

  // show puts message f at the top of its list, once.
  function show(f) {
    const key = f.room + ' ' + f.id;
    if (seen.has(key)) {
      return;
    }
    let d = f.data || {};
    let type = f.type;
    // A notification of the notification service of one of the two kinds the
    // lists show is shown as that message, from the notification's data.
    if (type === 'notification' && (d.kind === 'low_stock_alert' || d.kind === 'order_status_update')) {
      type = d.kind;
      d = d.data || {};
    }
    let list;
    let li;
    switch (type) {
      case 'low_stock_alert':
        if (page !== 'admin') {
          return;
        }
        list = el('alerts');
        li = item(f, ['name', d.name], ' (', ['product', d.product_id], '): ', ['quantity', d.quantity],
          ' left, threshold ', ['threshold', d.threshold]);
        break;
      case 'order_status_update':
        list = el('orders');
        li = item(f, 'order ', ['order', d.order_id], ': ', ['status', d.status]);
        break;
      case 'notification':
        if (page !== 'order') {
          return;
        }
        list = el('notifications');
        li = item(f, ['subject', d.subject], d.body ? ': ' : '', ['body', d.body]);
        break;
      default:
        return;
    }
    seen.add(key);
    list.prepend(li);
  }

  connect();
})();
