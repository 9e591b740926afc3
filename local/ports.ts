import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A loopback TCP port that was free a moment ago (bind port 0, read it, close). */
export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** A loopback port free for TCP (and UDP too when `udp`), preferring `preferred` when given. */
export async function pickPort(preferred?: number, udp = false): Promise<number> {
  if (preferred !== undefined && (await tcpFree(preferred)) && (!udp || (await udpFree(preferred))))
    return preferred;
  for (let i = 0; i < 50; i++) {
    const port = await freeTcpPort();
    if (port !== 0 && (!udp || (await udpFree(port)))) return port;
  }
  throw new Error('no free loopback port found');
}

/** A loopback port free for both TCP and UDP, as a DNS server needs (tests and local servers). */
export function freeDnsPort(): Promise<number> {
  return pickPort(undefined, true);
}
