/**
 * A loopback TCP proxy that holds the first `parties` connections until all of them have arrived,
 * then lets them through together (and every later connection at once). In front of the ACME
 * directory, it makes two runs ask for it at the same moment, so both decide at the same moment
 * that no account is stored yet: the first-use race happens every time, not by luck.
 */
import { createConnection, createServer, type Socket } from 'node:net';
import type { ServerAddress } from '../../lambdas/core/ports';
import { freeTcpPort } from '../../local/ports';

export interface TcpBarrier {
  port: number;
  /** Connections that had to wait for the others. */
  readonly held: number;
  close(): Promise<void>;
}

export async function startTcpBarrier(options: {
  upstream: ServerAddress;
  parties: number;
  /** Let the waiting connections through anyway after this long. @default 30000 */
  timeoutMs?: number;
  /** Listen on this port (e.g. the one an earlier barrier had). @default a free one */
  port?: number;
}): Promise<TcpBarrier> {
  const waiting: (() => void)[] = [];
  const sockets = new Set<Socket>();
  let open = false;
  let held = 0;
  const release = (): void => {
    open = true;
    for (const go of waiting.splice(0)) go();
  };
  const timer = setTimeout(release, options.timeoutMs ?? 30_000);
  const server = createServer((client) => {
    sockets.add(client);
    client.pause();
    const pipe = (): void => {
      const upstream = createConnection({ host: options.upstream.host, port: options.upstream.port });
      sockets.add(upstream);
      client.pipe(upstream).pipe(client);
      client.resume();
      const close = (): void => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
    };
    if (open) return pipe();
    held += 1;
    waiting.push(pipe);
    if (waiting.length >= options.parties) release();
  });
  const port = options.port ?? (await freeTcpPort());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port,
    get held() {
      return held;
    },
    async close() {
      clearTimeout(timer);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
