// The local fake of the cloud live API (dev/fake-live-api.ts) in its own process on loopback, for the
// merge_stream scenario: a separate process so that its work competes with neither the load generator
// nor workerd's event loop. Prints one line `LISTENING <url>` and serves until stdin closes or a signal.
// No per-request logging (dev/serve-fake-live-api.ts logs every call; here that would be the cost).
import { startFakeLiveApiServer } from "../dev/serve-fake-live-api.ts";

const server = await startFakeLiveApiServer({ port: 0, host: "127.0.0.1", log: () => {} });
process.stdout.write(`LISTENING ${server.url}\n`);

let closing = false;
const stop = () => {
  if (closing) return;
  closing = true;
  server.close().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 1_000).unref();
};
process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.resume();
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, stop);
