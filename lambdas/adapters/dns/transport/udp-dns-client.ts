import { getServers } from 'node:dns';
import {
  addressFamily,
  type DnsClient,
  type DnsResponse,
  formatServer,
  isUnroutable,
  parseServerAddress,
  type QueryOptions,
  type QueryType,
} from '../../../core/dns/dns-client';
import { decodeResponse, encodeQuery, isTruncated, randomMessageId } from '../../../core/dns/message';
import { canonicalName } from '../../../core/dns/names';
import { DnsQueryError, errorMessage } from '../../../core/errors';
import type { ServerAddress } from '../../../core/ports';
import { type ExchangeOptions, tcpExchange, udpExchange } from './exchange';

/** The first resolver node knows about (from /etc/resolv.conf), port included. */
export function systemResolver(): ServerAddress {
  const first = getServers()[0];
  if (first === undefined) {
    throw new DnsQueryError('no system DNS resolver is configured; set delegation.resolver');
  }
  return parseServerAddress(first);
}

/**
 * A stub resolver client (RFC 1035 §4.2): UDP with a per-attempt timeout and two retries, and
 * TCP when the UDP answer is truncated (TC bit, RFC 7766 §5) or UDP got no answer. Every socket
 * error ends as a {@link DnsQueryError} naming the question and the server; an address this host
 * cannot reach (see {@link isUnroutable}) says which address family it cannot use. Advertises EDNS(0) with a 1232-byte
 * UDP payload (RFC 6891 §6.2.5) so large TXT sets usually fit in one datagram.
 */
export class UdpDnsClient implements DnsClient {
  /**
   * @param defaults.transport `'tcp'` asks over TCP only (RFC 7766 §6.2.1), e.g. a server just
   *   reached over TCP for an UPDATE, which may not be reachable over UDP. @default 'udp'
   */
  constructor(
    private readonly defaults: { timeoutMs?: number; retries?: number; transport?: 'udp' | 'tcp' } = {},
  ) {}

  async query(
    server: ServerAddress,
    name: string,
    type: QueryType,
    opts: QueryOptions = {},
  ): Promise<DnsResponse> {
    const id = randomMessageId();
    const qname = canonicalName(name);
    const message = encodeQuery(id, qname, type, opts.recursionDesired);
    const exchange: ExchangeOptions = {
      id,
      timeoutMs: opts.timeoutMs ?? this.defaults.timeoutMs ?? 2000,
      retries: this.defaults.retries ?? 2,
    };
    const describe = `${type} ${qname} at ${formatServer(server)}`;
    let raw: Buffer;
    try {
      raw = await this.exchange(server, message, exchange);
    } catch (error) {
      throw new DnsQueryError(
        isUnroutable(error)
          ? `DNS query ${describe} failed: this host cannot reach ${addressFamily(server)} addresses (${errorMessage(error)})`
          : `DNS query ${describe} failed: ${errorMessage(error)}`,
        { cause: error },
      );
    }
    return decodeResponse(raw, qname, type, describe);
  }

  /**
   * UDP first; TCP (RFC 7766 §5) when the UDP answer is truncated (TC bit), when UDP got no
   * answer, or when the server refused UDP (ICMP port unreachable): a server reachable only over
   * TCP still answers. An address this host cannot reach at all is not retried over TCP.
   */
  private async exchange(server: ServerAddress, message: Buffer, exchange: ExchangeOptions): Promise<Buffer> {
    if (this.defaults.transport === 'tcp') return tcpExchange(server, message, exchange);
    let raw: Buffer;
    try {
      raw = await udpExchange(server, message, exchange);
    } catch (udpError) {
      if (isUnroutable(udpError)) throw udpError;
      try {
        return await tcpExchange(server, message, exchange);
      } catch (tcpError) {
        throw new Error(`${errorMessage(udpError)}, and over TCP: ${errorMessage(tcpError)}`, {
          cause: tcpError,
        });
      }
    }
    return isTruncated(raw) ? tcpExchange(server, message, exchange) : raw;
  }
}
