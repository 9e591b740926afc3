import * as dgram from 'node:dgram';
import { isIPv6, Socket } from 'node:net';
import type { ServerAddress } from '../../../core/ports';

/**
 * Moving DNS messages over sockets: one UDP exchange with retries (RFC 1035 §4.2.1) and one TCP
 * exchange with the length prefix (RFC 1035 §4.2.2, RFC 7766). Bytes in, bytes out: the messages
 * are built and read in core (lambdas/core/dns/message.ts).
 */

export interface ExchangeOptions {
  timeoutMs: number;
  /** Extra UDP attempts after the first. */
  retries: number;
  /** Accept only a reply with this message id. */
  id: number;
}

/**
 * An exchange that ended without an answer. `sent` tells whether the message left this host
 * (a TCP connection was made and the message written; a UDP datagram was sent): if it did, the
 * server may still act on it later, which matters for an UPDATE (RFC 2136 §3).
 */
export class NoAnswerError extends Error {
  constructor(
    message: string,
    readonly sent: boolean,
  ) {
    super(message);
    this.name = 'NoAnswerError';
  }
}

/**
 * Send one UDP datagram and wait for the reply whose id matches (RFC 1035 §4.2.1), retrying on
 * timeout. Returns the raw reply; throws a plain `Error` (a {@link NoAnswerError} when nothing
 * answered) that callers wrap with context. Never throws outside the returned promise.
 */
export async function udpExchange(
  server: ServerAddress,
  message: Buffer,
  opts: ExchangeOptions,
): Promise<Buffer> {
  let lastError: Error = new Error('no attempt made');
  for (let attempt = 0; attempt <= opts.retries; attempt++) {
    try {
      return await udpAttempt(server, message, opts);
    } catch (error) {
      lastError = error instanceof Error ? error : new Error(String(error));
      if (!(lastError instanceof NoAnswerError)) break;
    }
  }
  if (lastError instanceof NoAnswerError && opts.retries > 0) {
    throw new NoAnswerError(
      `no answer over UDP in ${opts.retries + 1} attempts of ${opts.timeoutMs} ms`,
      lastError.sent,
    );
  }
  throw lastError;
}

/**
 * Settle one socket exchange exactly once: on the reply, an error or the timeout, whichever
 * comes first, clear the timer and close the socket. `sent()` tells the timeout whether the
 * message had left.
 */
function settleOnce(
  resolve: (reply: Buffer) => void,
  reject: (error: Error) => void,
  close: () => void,
  timeoutMs: number,
  timeoutMessage: string,
  sent: () => boolean,
): (error: Error | undefined, reply?: Buffer) => void {
  let done = false;
  const finish = (error: Error | undefined, reply?: Buffer): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    try {
      close();
    } catch {
      // already closed
    }
    if (error !== undefined) reject(error);
    else if (reply !== undefined) resolve(reply);
  };
  const timer = setTimeout(() => finish(new NoAnswerError(timeoutMessage, sent())), timeoutMs);
  return finish;
}

const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));

/**
 * One datagram out, one reply back. Every socket call sits in a handler that settles the promise:
 * a connect that fails (no route, no address of the family) is an error here, never an
 * exception thrown from an event handler (sending on a socket whose connect failed throws
 * `ERR_SOCKET_BAD_PORT` in Node's dgram).
 */
function udpAttempt(server: ServerAddress, message: Buffer, opts: ExchangeOptions): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    let sent = false;
    let socket: dgram.Socket;
    try {
      socket = dgram.createSocket(isIPv6(server.host) ? 'udp6' : 'udp4');
    } catch (error) {
      reject(asError(error));
      return;
    }
    const finish = settleOnce(
      resolve,
      reject,
      () => socket.close(),
      opts.timeoutMs,
      `no answer within ${opts.timeoutMs} ms`,
      () => sent,
    );
    socket.on('error', (error) => finish(error));
    socket.on('message', (reply) => {
      if (reply.length >= 2 && reply.readUInt16BE(0) === opts.id) finish(undefined, reply);
    });
    try {
      socket.connect(server.port, server.host, (error?: Error) => {
        if (error) {
          finish(error);
          return;
        }
        try {
          socket.send(message, (sendError) => {
            if (sendError) finish(sendError);
            else sent = true;
          });
        } catch (sendError) {
          finish(asError(sendError));
        }
      });
    } catch (error) {
      finish(asError(error));
    }
  });
}

/**
 * Send one message over TCP with the two-byte length prefix (RFC 1035 §4.2.2) and return the
 * first complete reply whose id matches. Throws {@link NoAnswerError} when the connection was
 * made and the message written but no answer came (timeout, or the server closed first).
 */
export function tcpExchange(server: ServerAddress, message: Buffer, opts: ExchangeOptions): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const socket = new Socket();
    let sent = false;
    let buffered = Buffer.alloc(0);
    const finish = settleOnce(
      resolve,
      reject,
      () => socket.destroy(),
      opts.timeoutMs,
      `no answer over TCP within ${opts.timeoutMs} ms`,
      () => sent,
    );
    socket.on('error', (error) => finish(error));
    socket.on('close', () =>
      finish(
        sent
          ? new NoAnswerError('the server closed the TCP connection before a full answer arrived', true)
          : new Error('connection closed before the message was sent'),
      ),
    );
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const length = buffered.readUInt16BE(0);
        if (buffered.length < length + 2) return;
        const reply = buffered.subarray(2, length + 2);
        buffered = buffered.subarray(length + 2);
        if (reply.length >= 2 && reply.readUInt16BE(0) === opts.id) {
          finish(undefined, Buffer.from(reply));
          return;
        }
      }
    });
    try {
      socket.connect(server.port, server.host, () => {
        const prefix = Buffer.alloc(2);
        prefix.writeUInt16BE(message.length);
        sent = true;
        socket.write(Buffer.concat([prefix, message]));
      });
    } catch (error) {
      finish(asError(error));
    }
  });
}
