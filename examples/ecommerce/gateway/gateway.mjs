// The Node side of the federated gateway (package gateway runs it; do not start
// it by hand). Apollo Gateway serves the supergraph; the subgraph list comes from
// the Go side's loopback control endpoint, which follows the service registry.
//
// Environment (set by the Go side):
//   GATEWAY_CONTROL     base URL of the control endpoint (http://127.0.0.1:port)
//   GATEWAY_TOKEN       the secret every control request carries (x-gateway-token)
//   GATEWAY_POLL_MS     how often the subgraph list is read
//   GATEWAY_TIMEOUT_MS  the bound of each subgraph request (SDL fetches included)
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { composeServices } from '@apollo/composition';
import { GraphQLError, parse } from 'graphql';

const control = process.env.GATEWAY_CONTROL;
const token = process.env.GATEWAY_TOKEN;
const pollMs = Number(process.env.GATEWAY_POLL_MS || 1000);
const timeoutMs = Number(process.env.GATEWAY_TIMEOUT_MS || 5000);
if (!control || !token) {
  console.error('gateway.mjs: GATEWAY_CONTROL and GATEWAY_TOKEN must be set (package gateway starts this script)');
  process.exit(2);
}

// current maps a subgraph's name to what the Go side last said of it:
// {name, rev, graphql, sdl, live}.
let current = new Map();
// sdls maps a subgraph's name to {rev, sdl}: the SDL last fetched, and of which
// revision of its instance.
const sdls = new Map();
// composed is the key (names and SDLs) of the supergraph last composed, and
// supergraph its SDL.
let composed = '';
let supergraph = '';
let inSupergraph = [];
let version = 0;

async function controlCall(path, body) {
  const init = { headers: { 'x-gateway-token': token }, signal: AbortSignal.timeout(timeoutMs) };
  if (body !== undefined) {
    init.method = 'POST';
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(control + path, init);
  if (!res.ok) throw new Error(`control ${path}: ${res.status} ${await res.text()}`);
  return res.status === 204 ? null : res.json();
}

// fetchSDL reads a subgraph's SDL: GET of its sdl URL when it has one, else the
// federation query { _service { sdl } } on its GraphQL URL.
async function fetchSDL(sg) {
  const signal = AbortSignal.timeout(timeoutMs);
  if (sg.sdl) {
    const res = await fetch(sg.sdl, { signal });
    if (!res.ok) throw new Error(`GET ${sg.sdl}: ${res.status}`);
    return res.text();
  }
  const res = await fetch(sg.graphql, {
    method: 'POST', signal, headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ _service { sdl } }' }),
  });
  const body = await res.json();
  const sdl = body?.data?._service?.sdl;
  if (typeof sdl !== 'string') throw new Error(`${sg.graphql}: no _service.sdl in the answer (${res.status})`);
  return sdl;
}

// compose reads the list, fetches the SDLs that changed and composes. It returns
// the new supergraph SDL, or null when there is nothing new (or composition
// failed: the previous supergraph stays, the errors go to the Go side).
async function compose() {
  const { subgraphs } = await controlCall('/subgraphs');
  current = new Map(subgraphs.map((sg) => [sg.name, sg]));
  const errors = [];
  for (const sg of subgraphs) {
    const have = sdls.get(sg.name);
    if (!sg.live || (have && have.rev === sg.rev)) continue;
    try {
      sdls.set(sg.name, { rev: sg.rev, sdl: await fetchSDL(sg) });
    } catch (e) {
      errors.push({ subgraph: sg.name, message: `fetching the SDL: ${e.message}` });
    }
  }
  const services = [];
  for (const sg of subgraphs) {
    const have = sdls.get(sg.name);
    if (!have) continue;
    try {
      services.push({ name: sg.name, url: sg.graphql, typeDefs: parse(have.sdl) });
    } catch (e) {
      errors.push({ subgraph: sg.name, message: `parsing the SDL: ${e.message}` });
    }
  }
  for (const name of sdls.keys()) {
    if (!current.has(name)) sdls.delete(name);
  }
  const key = JSON.stringify(services.map((s) => [s.name, s.url, sdls.get(s.name).sdl]));
  let next = null;
  if (services.length === 0) {
    errors.push({ subgraph: '', message: 'no subgraph to compose: none of the services has a healthy instance with an SDL' });
  } else if (key !== composed) {
    const result = composeServices(services);
    if (result.errors?.length) {
      for (const e of result.errors) errors.push({ subgraph: subgraphOf(e, services), code: e.extensions?.code ?? '', message: e.message });
    } else {
      composed = key;
      supergraph = result.supergraphSdl;
      inSupergraph = services.map((s) => s.name);
      version++;
      next = supergraph;
    }
  }
  await controlCall('/status', { version, subgraphs: inSupergraph, errors });
  return next;
}

// subgraphOf names the subgraph a composition error concerns: the first whose
// name the message or its nodes mention.
function subgraphOf(e, services) {
  for (const node of e.nodes ?? []) {
    if (node?.subgraph) return node.subgraph;
  }
  for (const s of services) {
    if (e.message.includes(`"${s.name}"`)) return s.name;
  }
  return '';
}

async function report(where, e) {
  try {
    await controlCall('/status', { version, subgraphs: inSupergraph, errors: [{ subgraph: '', message: `${where}: ${e.message}` }] });
  } catch (e2) {
    console.error(`gateway.mjs: ${where}: ${e.message}; reporting it: ${e2.message}`);
  }
}

// fetcherFor sends the requests of subgraph name to its current instance, each
// bounded by the timeout, failing at once when it has no healthy instance.
function fetcherFor(name) {
  return async (_url, init) => {
    const sg = current.get(name);
    if (!sg?.live) throw unavailable(name, 'no healthy instance in the service registry');
    try {
      return await fetch(sg.graphql, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    } catch (e) {
      const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs}ms` : (e.cause?.code ?? e.message);
      throw unavailable(name, `at ${sg.graphql}: ${why}`);
    }
  };
}

// unavailable is the error of a subgraph that could not be asked: its message
// and extensions name it.
function unavailable(name, why) {
  return new GraphQLError(`subgraph ${name}: ${why}`, { extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: name } });
}

// dataSource is the data source of subgraph name: requests carry the caller's
// authorization and tenant, and an HTTP error of the subgraph names it. (The
// hooks are given as options: RemoteGraphQLDataSource's own fields would shadow
// the methods of a subclass.)
function dataSource(name, url) {
  return new RemoteGraphQLDataSource({
    url,
    fetcher: fetcherFor(name),
    willSendRequest({ request, context }) {
      for (const h of ['authorization', 'x-tenant-id']) {
        const v = context.headers?.[h];
        if (v) request.http.headers.set(h, v);
      }
    },
    didEncounterError(error) {
      if (error.extensions?.serviceName) throw error;
      throw new GraphQLError(`subgraph ${name}: ${error.message}`, {
        originalError: error, extensions: { ...error.extensions, serviceName: name },
      });
    },
  });
}

const gateway = new ApolloGateway({
  async supergraphSdl({ update }) {
    let first = null;
    while (first === null) {
      try {
        first = await compose();
      } catch (e) {
        await report('composition', e);
      }
      if (first === null) await new Promise((r) => setTimeout(r, pollMs));
    }
    let busy = false;
    const timer = setInterval(async () => {
      if (busy) return;
      busy = true;
      try {
        const next = await compose();
        if (next !== null) update(next);
      } catch (e) {
        await report('recomposition', e);
      } finally {
        busy = false;
      }
    }, pollMs);
    return { supergraphSdl: first, cleanup: async () => clearInterval(timer) };
  },
  buildService({ name, url }) {
    return dataSource(name, url);
  },
});

const server = new ApolloServer({ gateway, introspection: true });
const { url } = await startStandaloneServer(server, {
  listen: { host: '127.0.0.1', port: 0 },
  context: async ({ req }) => {
    if (!req.headers['x-tenant-id']) {
      throw new GraphQLError('no tenant: the gateway forwards X-Tenant-ID', { extensions: { code: 'MISSING_TENANT', http: { status: 400 } } });
    }
    return { headers: req.headers };
  },
});
await controlCall('/ready', { url });

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, async () => {
    await server.stop();
    process.exit(0);
  });
}
