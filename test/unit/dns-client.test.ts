import { formatServer, parseServerAddress } from '../../lambdas/core/dns/dns-client';
import { DnsQueryError } from '../../lambdas/core/errors';

describe('parseServerAddress', () => {
  it('reads the host[:port] forms the configuration allows', () => {
    expect(parseServerAddress('127.0.0.1')).toEqual({ host: '127.0.0.1', port: 53 });
    expect(parseServerAddress('127.0.0.1:5353')).toEqual({ host: '127.0.0.1', port: 5353 });
    expect(parseServerAddress('ns1.example.net:1053')).toEqual({ host: 'ns1.example.net', port: 1053 });
    expect(parseServerAddress('[::1]:5353')).toEqual({ host: '::1', port: 5353 });
    expect(parseServerAddress('2001:db8::53')).toEqual({ host: '2001:db8::53', port: 53 });
    expect(parseServerAddress('10.0.0.2', 8053)).toEqual({ host: '10.0.0.2', port: 8053 });
  });

  it('rejects what is not an address, saying what to write', () => {
    expect(() => parseServerAddress('udp://1.2.3.4')).toThrow(DnsQueryError);
    expect(() => parseServerAddress('1.2.3.4:99999')).toThrow(/port 99999; use 1-65535/);
  });

  it('formats addresses back for messages', () => {
    expect(formatServer({ host: '::1', port: 53 })).toBe('[::1]:53');
    expect(formatServer({ host: '127.0.0.1', port: 5353 })).toBe('127.0.0.1:5353');
  });
});
