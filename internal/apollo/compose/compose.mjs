// compose.mjs composes Apollo Federation subgraphs into a supergraph.
//
// stdin:  JSON [{"name": ..., "url": ..., "sdl": ...}, ...]
// stdout: JSON {"supergraphSdl": string, "errors": [{message, code}], "hints": [{message, code}]}
//
// Run it with its working directory in the folder holding the node_modules that
// package.json and package-lock.json of this folder pin (internal/devenv's
// NodeModules makes it): the packages are resolved from there, not from beside
// this script.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const require = createRequire(pathToFileURL(process.cwd() + '/').href);
const { composeServices } = require('@apollo/composition');
const { parse } = require('graphql');

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));

const out = { supergraphSdl: '', errors: [], hints: [] };
const services = [];
for (const s of input) {
  try {
    services.push({ name: s.name, url: s.url, typeDefs: parse(s.sdl) });
  } catch (e) {
    out.errors.push({ message: `[${s.name}] ${e.message}`, code: 'INVALID_GRAPHQL' });
  }
}
if (out.errors.length === 0) {
  const result = composeServices(services);
  for (const e of result.errors ?? []) {
    out.errors.push({ message: e.message, code: e.extensions?.code ?? 'UNKNOWN' });
  }
  for (const h of result.hints ?? []) {
    out.hints.push({ message: h.message, code: h.definition?.code ?? 'UNKNOWN' });
  }
  out.supergraphSdl = result.supergraphSdl ?? '';
}
process.stdout.write(JSON.stringify(out));
