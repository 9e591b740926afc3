import { DnsQueryError } from '../errors';
import type { ServerAddress } from '../ports';
import type { DnsAnswer, DnsClient } from './dns-client';
import { formatServer } from './dns-client';
import { baseName, canonicalName } from './names';

/**
 * Certification Authority Authorization (RFC 8659) as a CA evaluates it before issuing, with
 * the RFC 8657 `accounturi` and `validationmethods` parameters.
 */

/** One CAA property (RFC 8659 §4.1) and the name that holds it. */
export interface CaaRecord {
  owner: string;
  flags: number;
  /** Lowercase property tag. */
  tag: string;
  value: string;
}

/** The Relevant RRset of a name (RFC 8659 §3). */
export interface RelevantCaa {
  /** The name the climb started at (the base name of a wildcard, RFC 8659 §3). */
  name: string;
  /** The name in the climb (X, parent(X), …) whose lookup returned CAA records. */
  foundAt?: string;
  /** Where the records actually live: `foundAt`, or the end of its CNAME chain. */
  owner?: string;
  /** CNAME targets followed from `foundAt` to `owner`. */
  aliases: string[];
  records: CaaRecord[];
}

/**
 * Find the Relevant RRset (RFC 8659 §3): ask the resolver (RD=1, so aliases are followed as
 * ordinary DNS resolution follows them) for CAA at the name, then at each parent, up to but not
 * including the root, and stop at the first non-empty answer. NXDOMAIN and NODATA both climb.
 * A wildcard is looked up at its base name.
 *
 * @throws DnsQueryError when a lookup fails (SERVFAIL, REFUSED, timeout): a CA must then refuse
 *   to issue, so the caller reports it as a problem.
 */
export async function lookupRelevantCaa(
  domain: string,
  opts: { resolver: ServerAddress; client: DnsClient; timeoutMs?: number },
): Promise<RelevantCaa> {
  const name = canonicalName(baseName(canonicalName(domain)));
  const labels = name.split('.');
  for (let i = 0; i < labels.length; i++) {
    const candidate = labels.slice(i).join('.');
    const response = await opts.client.query(opts.resolver, candidate, 'CAA', {
      recursionDesired: true,
      timeoutMs: opts.timeoutMs,
    });
    if (response.rcode !== 'NOERROR' && response.rcode !== 'NXDOMAIN') {
      throw new DnsQueryError(
        `resolver ${formatServer(opts.resolver)} answered ${response.rcode} for CAA ${candidate}`,
      );
    }
    const { end, aliases } = followAliases(candidate, response.answers);
    const records = response.answers
      .filter((a) => a.type === 'CAA' && a.name === end && a.caa)
      .map((a) => toRecord(a));
    if (records.length > 0) return { name, foundAt: candidate, owner: end, aliases, records };
  }
  return { name, aliases: [], records: [] };
}

function followAliases(start: string, answers: DnsAnswer[]): { end: string; aliases: string[] } {
  const aliases: string[] = [];
  let end = start;
  for (let hop = 0; hop < 16; hop++) {
    const cname = answers.find((a) => a.type === 'CNAME' && a.name === end);
    if (!cname || aliases.includes(cname.data)) break;
    aliases.push(cname.data);
    end = cname.data;
  }
  return { end, aliases };
}

function toRecord(a: DnsAnswer): CaaRecord {
  const caa = a.caa as NonNullable<DnsAnswer['caa']>;
  return { owner: a.name, flags: caa.flags, tag: caa.tag.toLowerCase(), value: caa.value };
}

/** An `issue`/`issuewild` value (RFC 8659 §4.2): issuer domain name and parameters. */
export interface IssueValue {
  /** Lowercase; undefined for an empty issuer (`;`), which authorizes no CA. */
  issuer?: string;
  parameters: Map<string, string>;
  /** True when the value does not follow the §4.2 grammar: then it authorizes no CA. */
  malformed: boolean;
}

const ISSUER = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
const PARAMETER = /^([A-Za-z0-9](?:-*[A-Za-z0-9])*)[ \t]*=[ \t]*([\x21-\x3a\x3c-\x7e]*)$/;

/** Parse an `issue`/`issuewild` property value (RFC 8659 §4.2 grammar). */
export function parseIssueValue(value: string): IssueValue {
  const [head = '', ...rest] = value.split(';');
  const issuer = head.trim();
  const parameters = new Map<string, string>();
  let malformed = issuer !== '' && !ISSUER.test(issuer);
  const tail = rest.join(';').trim();
  if (tail !== '') {
    for (const part of tail.split(';')) {
      const m = PARAMETER.exec(part.trim());
      if (!m) {
        malformed = true;
        continue;
      }
      parameters.set((m[1] ?? '').toLowerCase(), m[2] ?? '');
    }
  }
  return { issuer: issuer === '' || malformed ? undefined : issuer.toLowerCase(), parameters, malformed };
}

/** Property tags a CA understands; an unknown one with the critical flag forbids issuance (RFC 8659 §4.1). */
const KNOWN_TAGS = new Set(['issue', 'issuewild', 'iodef', 'contactemail', 'contactphone', 'issuemail']);
const CRITICAL = 128;

/** A CAA record in zone-file form (RFC 8659 §4.1.1). */
export function caaRecordText(owner: string, tag: string, value: string, flags = 0): string {
  return `${canonicalName(owner)}. CAA ${flags} ${tag} "${value.replace(/(["\\])/g, '\\$1')}"`;
}

export type CaaStatus = 'permitted' | 'forbidden' | 'unknown';

export interface CaaVerdict {
  status: CaaStatus;
  /** What the CA concludes, in one sentence. */
  message: string;
  /** The exact records to add or change (zone-file form) when issuance is forbidden. */
  fix: string[];
}

/**
 * Decide, as the CA does, whether the Relevant RRset lets a CA whose identifiers are
 * `caIdentities` issue for `domain` (RFC 8659 §4): an empty RRset permits every CA; a critical
 * unknown property forbids; for a wildcard, `issuewild` properties, when present, replace
 * `issue` (§4.3); otherwise an RRset without the relevant property does not restrict; else some
 * property must name the CA and its RFC 8657 parameters must hold (`accounturi` equal to the
 * account, `validationmethods` listing `dns-01`). `status` is `unknown` only when the decision
 * depends on an account URI the caller does not know.
 */
export function evaluateCaa(input: {
  domain: string;
  relevant: RelevantCaa;
  caIdentities: string[];
  accountUri?: string;
  validationMethod?: string;
}): CaaVerdict {
  const { relevant } = input;
  const method = input.validationMethod ?? 'dns-01';
  const wildcard = input.domain.startsWith('*.');
  const identities = input.caIdentities.map((i) => i.toLowerCase());
  const ca = identities[0] ?? '(the CA)';
  const owner = relevant.owner ?? relevant.name;
  const where = describeOwner(relevant);
  if (relevant.records.length === 0) {
    return {
      status: 'permitted',
      message: `no CAA record at ${relevant.name} or any parent: every CA may issue`,
      fix: [],
    };
  }
  const critical = relevant.records.filter((r) => (r.flags & CRITICAL) !== 0 && !KNOWN_TAGS.has(r.tag));
  if (critical.length > 0) {
    return {
      status: 'forbidden',
      message: `CAA ${where} has a critical property the CA does not know (${critical.map((r) => r.tag).join(', ')}), so no CA may issue (RFC 8659 §4.1)`,
      fix: critical.map(
        (r) => `remove or clear the critical flag of: ${caaRecordText(r.owner, r.tag, r.value, r.flags)}`,
      ),
    };
  }
  const hasWild = relevant.records.some((r) => r.tag === 'issuewild');
  const tag = wildcard && hasWild ? 'issuewild' : 'issue';
  const properties = relevant.records.filter((r) => r.tag === tag);
  if (properties.length === 0) {
    return {
      status: 'permitted',
      message: `CAA ${where} has no ${wildcard ? 'issue or issuewild' : 'issue'} property, so it does not restrict issuance`,
      fix: [],
    };
  }
  const parsed = properties.map((r) => ({ record: r, value: parseIssueValue(r.value) }));
  const forCa = parsed.filter((p) => p.value.issuer !== undefined && identities.includes(p.value.issuer));
  const listed = [...new Set(parsed.map((p) => (p.value.issuer === undefined ? '";"' : p.value.issuer)))];
  if (forCa.length === 0) {
    const why =
      wildcard && tag === 'issuewild'
        ? `issuewild ${where} (${listed.join(', ')}) replaces issue for wildcards and does not name ${ca}`
        : `${tag} ${where} allows only ${listed.join(', ')}, not ${ca}`;
    return {
      status: 'forbidden',
      message: `CAA forbids ${input.domain}: ${why}`,
      fix: [`add ${caaRecordText(owner, tag, ca)}`],
    };
  }
  let needsAccount: string | undefined;
  const refusals: { message: string; fix: string }[] = [];
  for (const { record, value } of forCa) {
    const accountUri = value.parameters.get('accounturi');
    const methods = value.parameters.get('validationmethods');
    const okMethod = methods === undefined || methods.split(',').some((m) => m.trim() === method);
    if (!okMethod) {
      refusals.push({
        message: `validationmethods=${methods} does not include ${method}`,
        fix: `change ${caaRecordText(record.owner, record.tag, record.value, record.flags)} to ${caaRecordText(record.owner, record.tag, record.value.replace(/validationmethods\s*=\s*[^;]*/i, `validationmethods=${methods},${method}`), record.flags)}`,
      });
      continue;
    }
    if (accountUri === undefined) {
      return {
        status: 'permitted',
        message: `CAA ${where} allows ${value.issuer} (${tag} "${record.value}")`,
        fix: [],
      };
    }
    if (input.accountUri === undefined) {
      needsAccount = accountUri;
      continue;
    }
    if (accountUri === input.accountUri) {
      return {
        status: 'permitted',
        message: `CAA ${where} allows ${value.issuer} for this ACME account (${tag} "${record.value}", RFC 8657)`,
        fix: [],
      };
    }
    refusals.push({
      message: `accounturi=${accountUri} is not this ACME account (${input.accountUri})`,
      fix: `change ${caaRecordText(record.owner, record.tag, record.value, record.flags)} to ${caaRecordText(record.owner, record.tag, `${value.issuer}; accounturi=${input.accountUri}`, record.flags)}`,
    });
  }
  if (needsAccount !== undefined && refusals.length === 0) {
    return {
      status: 'unknown',
      message: `CAA ${where} allows ${ca} only for the ACME account ${needsAccount} (RFC 8657); pass --account-uri to check it is this account`,
      fix: [],
    };
  }
  return {
    status: 'forbidden',
    message: `CAA ${where} names ${ca} but forbids this issuance: ${refusals.map((r) => r.message).join('; ')}`,
    fix: refusals.map((r) => r.fix),
  };
}

function describeOwner(relevant: RelevantCaa): string {
  if (!relevant.owner) return `at ${relevant.name}`;
  if (relevant.aliases.length > 0) return `at ${relevant.owner} (via CNAME from ${relevant.foundAt})`;
  return `at ${relevant.owner}`;
}
