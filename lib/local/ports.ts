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

/** A free loopback TCP port (and UDP too when `udp`), preferring `preferred`. */
export async function pickPort(preferred: number, udp = false): Promise<number> {
  if ((await tcpFree(preferred)) && (!udp || (await udpFree(preferred)))) return preferred;
  for (let i = 0; i < 50; i++) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const address = s.address();
        const p = typeof address === 'object' && address ? address.port : 0;
        s.close(() => resolve(p));
      });
    });
    if (!udp || (await udpFree(port))) return port;
  }
  throw new Error('no free loopback port found');
}
