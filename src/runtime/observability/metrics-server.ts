import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, describe } from '../errors.js';

/** Where a job's metrics server listens. */
export interface MetricsAddress {
  readonly host: string;
  readonly port: number;
  /** The scrape URL, e.g. `http://127.0.0.1:9464/metrics`. */
  readonly url: string;
}

/** What the server answers with. */
export interface MetricsEndpoints {
  /** The Prometheus text exposition of the job's metrics. */
  metrics(): Promise<string>;
  /** Content type of {@link metrics}. */
  readonly contentType: string;
  /** True when the job is ready (sources and sinks open, running, not stopping). */
  ready(): boolean;
}

/**
 * The HTTP endpoints of a job, for Prometheus and Kubernetes probes:
 * - `GET /metrics`: the job's metrics (Prometheus text format);
 * - `GET /healthz`: 200 while the process serves requests (liveness);
 * - `GET /readyz`: 200 once the job runs with every source and sink open, 503 before that and
 *   from the moment a stop begins (readiness).
 * Other paths answer 404, other methods 405. The server never keeps the process alive on its own
 * (it is unref'd) and is closed when the job ends.
 *
 * @example
 * ```ts
 * const server = await MetricsServer.start({ host: '127.0.0.1', port: 0 }, endpoints);
 * console.log(server.address.url);
 * await server.close();
 * ```
 */
export class MetricsServer {
  readonly address: MetricsAddress;
  readonly #server: Server;
  #closed: Promise<void> | undefined;

  private constructor(server: Server, address: MetricsAddress) {
    this.#server = server;
    this.address = address;
  }

  /** Listen on `host:port` (port 0: any free port). Rejects with a ConfigError when it cannot. */
  static start(where: { readonly host: string; readonly port: number }, endpoints: MetricsEndpoints): Promise<MetricsServer> {
    const server = createServer((req, res) => {
      handle(req, res, endpoints).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`${describe(err)}\n`);
      });
    });
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(new ConfigError(`metrics: cannot listen on ${where.host}:${where.port}: ${err.code ?? describe(err)}`, { cause: err }));
      };
      server.once('error', onError);
      server.listen(where.port, where.host, () => {
        server.off('error', onError);
        server.unref();
        const info = server.address() as AddressInfo;
        const host = info.address.includes(':') ? `[${info.address}]` : info.address;
        resolve(new MetricsServer(server, { host: info.address, port: info.port, url: `http://${host}:${info.port}/metrics` }));
      });
    });
  }

  /** Stop listening and drop open connections. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
    return this.#closed;
  }
}

async function handle(req: IncomingMessage, res: ServerResponse, endpoints: MetricsEndpoints): Promise<void> {
  const path = (req.url ?? '/').split('?', 1)[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
    res.end('method not allowed\n');
    return;
  }
  switch (path) {
    case '/metrics': {
      const body = await endpoints.metrics();
      res.writeHead(200, { 'content-type': endpoints.contentType });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    case '/healthz':
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('ok\n');
      return;
    case '/readyz': {
      const ready = endpoints.ready();
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(ready ? 'ready\n' : 'not ready\n');
      return;
    }
    default:
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('not found: try /metrics, /healthz or /readyz\n');
  }
}
