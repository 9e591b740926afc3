import { formatServer } from '../../../core/dns/dns-client';
import type { ServerAddress } from '../../../core/ports';

/**
 * How an UPDATE answer was signed (RFC 8945 §5.3): `signed` with our key and a MAC that verifies;
 * `unsigned` with no TSIG RR at all; `tsig-error` with a TSIG RR carrying BADSIG / BADKEY /
 * BADTIME and no MAC (§5.3.2: the server could not or would not use our key); `unverified` with a
 * TSIG RR whose MAC did not verify.
 */
export type AnswerSignature =
  | { kind: 'signed' }
  | { kind: 'unsigned' }
  | { kind: 'tsig-error'; error: string }
  | { kind: 'unverified'; reason: string };

/** What a refusal message needs to know; never the secret. */
export interface RefusalContext {
  server: ServerAddress;
  zone: string;
  keyName: string;
  algorithm: string;
}

/** The fix for an update policy that denies certflow's change, for each server. */
export function policyFix({ zone, keyName }: RefusalContext): string {
  return `certflow writes only TXT records in ${zone}; let key "${keyName}" do exactly that — BIND: update-policy { grant ${keyName} subdomain ${zone}. TXT; }; Knot: an acl with key: ${keyName}, action: update, update-type: [TXT] in the acl list of zone ${zone}; PowerDNS: domain metadata TSIG-ALLOW-DNSUPDATE ${keyName} and ALLOW-DNSUPDATE-FROM this host on ${zone}, or a lua-dnsupdate-policy-script whose updatepolicy() returns true for key ${keyName}, zone ${zone} and type TXT`;
}

/** What to check when the server did not accept our TSIG signature at all. */
function keyChecklist({ keyName, algorithm }: RefusalContext): string {
  return `the server has a key named "${keyName}" (dns.tsig.name) with algorithm ${algorithm} (dns.tsig.algorithm) and that dns.tsig.secretFile / dns.tsig.secretEnv holds that key's secret (PowerDNS: pdnsutil list-tsig-keys)`;
}

/**
 * Explain a refused UPDATE (RFC 2136 §2.2 rcodes, RFC 8945 §5.3 TSIG errors) as BIND 9, Knot DNS
 * and PowerDNS give them, with what to change. Observed answers:
 *
 * | refusal                 | BIND 9.18          | Knot 3.2          | PowerDNS 4.7 (Lua policy) |
 * | ----------------------- | ------------------ | ----------------- | ------------------------- |
 * | policy denies the change| REFUSED, signed    | NOTAUTH/BADKEY    | NOERROR, nothing stored   |
 * | wrong secret            | NOTAUTH/BADSIG     | NOTAUTH/BADSIG    | REFUSED, unsigned         |
 * | unknown key / algorithm | NOTAUTH/BADKEY     | NOTAUTH/BADKEY    | REFUSED, unsigned         |
 * | zone not served         | NOTAUTH, signed    | NOTAUTH, unsigned | NOTAUTH, signed           |
 *
 * The message names the server, the zone and the key name, never the secret.
 */
export function describeRefusal(rcode: string, signature: AnswerSignature, context: RefusalContext): string {
  const { zone, keyName } = context;
  const head = `DNS UPDATE of zone ${zone} at ${formatServer(context.server)} refused`;
  if (signature.kind === 'tsig-error') {
    switch (signature.error) {
      case 'BADKEY':
        return `${head} (${rcode}/BADKEY): either the server has no key "${keyName}" with algorithm ${context.algorithm} — check dns.tsig.name and dns.tsig.algorithm against the server's key — or it has the key and its ACL denies this change, which Knot answers this way: Knot needs an acl with key: ${keyName}, action: update, update-type: [TXT] in the acl list of zone ${zone}`;
      case 'BADSIG':
        return `${head} (${rcode}/BADSIG): the server knows key "${keyName}" but our signature does not verify: dns.tsig.secretFile / dns.tsig.secretEnv does not hold the server's secret for "${keyName}"`;
      case 'BADTIME':
        return `${head} (${rcode}/BADTIME): the server rejected the time of our signature with key "${keyName}"; this machine's clock and the server's differ by more than 300 s: synchronise both with NTP`;
      default:
        return `${head} (${rcode}/${signature.error}) for key "${keyName}"`;
    }
  }
  if (signature.kind === 'unsigned' && rcode === 'REFUSED') {
    return `${head} (REFUSED, unsigned): the server did not accept our TSIG signature: unknown key name, wrong secret or wrong algorithm (PowerDNS answers all three this way); check that ${keyChecklist(context)}`;
  }
  if (signature.kind === 'unsigned' && rcode === 'NOTAUTH') {
    return `${head} (NOTAUTH, unsigned): either the server did not accept our TSIG signature (unknown key name, wrong secret or wrong algorithm) or it is not authoritative for zone ${zone} (Knot answers so for a zone it does not serve); check that dns.server is the primary of ${zone} and that ${keyChecklist(context)}`;
  }
  const signed = signature.kind === 'signed' ? `, signed with key "${keyName}"` : `, key "${keyName}"`;
  const unverified =
    signature.kind === 'unverified'
      ? ` (and the answer's TSIG signature did not verify: ${signature.reason})`
      : '';
  switch (rcode) {
    case 'REFUSED':
      return `${head} (REFUSED${signed}): the server accepted the key but its update policy denies this change${unverified}. ${policyFix(context)}. Check too that delegation.zone (${zone}) is the zone the key may write`;
    case 'NOTAUTH':
      return `${head} (NOTAUTH${signed}): the server is not authoritative for zone ${zone}${unverified}; point dns.server at the primary of ${zone}, or fix delegation.zone`;
    case 'NOTZONE':
      return `${head} (NOTZONE${signed}): a record is outside zone ${zone}${unverified}`;
    case 'NOTIMP':
    case 'FORMERR':
      return `${head} (${rcode}${signed}): the server does not accept dynamic updates for ${zone}${unverified}; enable RFC 2136 UPDATE for the zone (PowerDNS: dnsupdate=yes)`;
    case 'SERVFAIL':
      return `${head} (SERVFAIL${signed}): the server failed to apply the update to zone ${zone}${unverified}; see the server's log (PowerDNS also answers SERVFAIL when its lua-dnsupdate-policy-script fails)`;
    default:
      return `${head} (${rcode}${signed})${unverified}`;
  }
}
