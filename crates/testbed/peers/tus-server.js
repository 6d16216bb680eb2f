// The official tus 1.0 server (@tus/server with @tus/file-store) on 127.0.0.1, for interop tests
// and benches. Started by crates/testbed/src/peers.rs as:
//
//   node tus-server.js NODE_MODULES PORT STORE_DIR [MAX_SIZE]
//
// NODE_MODULES is the folder `cargo xtask test` installs the packages into (ES modules ignore
// NODE_PATH, so it is named here). Uploads go to
// http://127.0.0.1:PORT/files/ and are stored in STORE_DIR. GET /__filewire/stats answers
// {"bytes_read": N}: every byte read from every client socket so far (request lines, headers and
// bodies), so a test can bound what a resumed upload sent in total. Prints "listening on PORT"
// once it accepts connections.
'use strict';

const http = require('node:http');
const path = require('node:path');
const { createRequire } = require('node:module');
const { pathToFileURL } = require('node:url');

async function main() {
  const [modules, port, directory, maxSize] = process.argv.slice(2);
  if (!modules || !port || !directory) {
    console.error('usage: node tus-server.js NODE_MODULES PORT STORE_DIR [MAX_SIZE]');
    process.exit(2);
  }
  // Both packages are ES modules: resolve them in NODE_MODULES, then import() them.
  const resolve = createRequire(path.join(modules, 'noop.js')).resolve;
  const load = (name) => import(pathToFileURL(resolve(name)).href);
  const { Server } = await load('@tus/server');
  const { FileStore } = await load('@tus/file-store');
  const options = { path: '/files', datastore: new FileStore({ directory }) };
  if (maxSize) {
    options.maxSize = Number(maxSize);
  }
  const tus = new Server(options);

  let closedBytes = 0;
  const open = new Set();
  const server = http.createServer((req, res) => {
    if (req.url === '/__filewire/stats') {
      let live = 0;
      for (const socket of open) live += socket.bytesRead;
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ bytes_read: closedBytes + live }));
      return;
    }
    tus.handle(req, res);
  });
  server.on('connection', (socket) => {
    open.add(socket);
    socket.on('close', () => {
      open.delete(socket);
      closedBytes += socket.bytesRead;
    });
  });
  server.listen(Number(port), '127.0.0.1', () => {
    console.log(`listening on ${port}`);
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
