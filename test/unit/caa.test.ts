import { evaluateCaa, parseIssueValue, type RelevantCaa } from '../../lambdas/core/dns/caa';

/** RFC 8659 §4 / RFC 8657 decisions, as a CA makes them, on Relevant RRsets. */

const at = (
  owner: string,
  records: [number, string, string][],
  extra: Partial<RelevantCaa> = {},
): RelevantCaa => ({
  name: owner,
  foundAt: owner,
  owner,
  aliases: [],
  records: records.map(([flags, tag, value]) => ({ owner, flags, tag, value })),
  ...extra,
});
const LE = ['letsencrypt.org'];

describe('RFC 8659 CAA evaluation', () => {
  it('an empty Relevant RRset lets every CA issue', () => {
    const v = evaluateCaa({
      domain: 'www.example.com',
      relevant: { name: 'www.example.com', aliases: [], records: [] },
      caIdentities: LE,
    });
    expect(v).toEqual({
      status: 'permitted',
      message: 'no CAA record at www.example.com or any parent: every CA may issue',
      fix: [],
    });
  });

  it('issue names the CA (case-insensitively, with parameters and spaces): permitted', () => {
    const v = evaluateCaa({
      domain: 'example.com',
      relevant: at('example.com', [[0, 'issue', ' LetsEncrypt.org ; foo=bar ']]),
      caIdentities: LE,
    });
    expect(v.status).toBe('permitted');
  });

  it('";" (an empty issuer) authorizes no CA; the fix adds the CA', () => {
    const v = evaluateCaa({
      domain: 'example.com',
      relevant: at('example.com', [[0, 'issue', ';']]),
      caIdentities: LE,
    });
    expect(v).toEqual({
      status: 'forbidden',
      message: 'CAA forbids example.com: issue at example.com allows only ";", not letsencrypt.org',
      fix: ['add example.com. CAA 0 issue "letsencrypt.org"'],
    });
  });

  it('a non-wildcard name ignores issuewild (§4.3)', () => {
    const v = evaluateCaa({
      domain: 'example.com',
      relevant: at('example.com', [[0, 'issuewild', ';']]),
      caIdentities: LE,
    });
    expect(v.status).toBe('permitted');
  });

  it('a wildcard without issuewild is governed by issue', () => {
    const relevant = at('example.com', [[0, 'issue', 'ca.invalid']]);
    expect(evaluateCaa({ domain: '*.example.com', relevant, caIdentities: LE })).toMatchObject({
      status: 'forbidden',
      fix: ['add example.com. CAA 0 issue "letsencrypt.org"'],
    });
  });

  it('a wildcard with issuewild naming the CA is permitted even when issue does not name it', () => {
    const relevant = at('example.com', [
      [0, 'issue', 'ca.invalid'],
      [0, 'issuewild', 'letsencrypt.org'],
    ]);
    expect(evaluateCaa({ domain: '*.example.com', relevant, caIdentities: LE }).status).toBe('permitted');
    expect(evaluateCaa({ domain: 'example.com', relevant, caIdentities: LE }).status).toBe('forbidden');
  });

  it('only iodef: no restriction', () => {
    const v = evaluateCaa({
      domain: '*.example.com',
      relevant: at('example.com', [[0, 'iodef', 'mailto:security@example.com']]),
      caIdentities: LE,
    });
    expect(v.status).toBe('permitted');
  });

  it('an unknown property with the critical flag forbids every CA (§4.1); a non-critical one is ignored', () => {
    const critical = evaluateCaa({
      domain: 'example.com',
      relevant: at('example.com', [
        [0, 'issue', 'letsencrypt.org'],
        [128, 'tbs', 'unknown'],
      ]),
      caIdentities: LE,
    });
    expect(critical.status).toBe('forbidden');
    expect(critical.fix).toEqual([
      'remove or clear the critical flag of: example.com. CAA 128 tbs "unknown"',
    ]);
    const lenient = evaluateCaa({
      domain: 'example.com',
      relevant: at('example.com', [
        [0, 'issue', 'letsencrypt.org'],
        [0, 'tbs', 'unknown'],
      ]),
      caIdentities: LE,
    });
    expect(lenient.status).toBe('permitted');
  });

  it('RFC 8657 validationmethods without dns-01 forbids, and the fix adds dns-01', () => {
    const v = evaluateCaa({
      domain: 'example.com',
      relevant: at('example.com', [[0, 'issue', 'letsencrypt.org; validationmethods=http-01']]),
      caIdentities: LE,
    });
    expect(v).toEqual({
      status: 'forbidden',
      message:
        'CAA at example.com names letsencrypt.org but forbids this issuance: validationmethods=http-01 does not include dns-01',
      fix: [
        'change example.com. CAA 0 issue "letsencrypt.org; validationmethods=http-01" to example.com. CAA 0 issue "letsencrypt.org; validationmethods=http-01,dns-01"',
      ],
    });
  });

  it('several records for the CA: one that holds is enough', () => {
    const v = evaluateCaa({
      domain: 'example.com',
      relevant: at('example.com', [
        [0, 'issue', 'letsencrypt.org; accounturi=https://acme.example/acct/1'],
        [0, 'issue', 'letsencrypt.org; accounturi=https://acme.example/acct/2'],
      ]),
      caIdentities: LE,
      accountUri: 'https://acme.example/acct/2',
    });
    expect(v.status).toBe('permitted');
  });

  it('a record reached through a CNAME is reported where it lives', () => {
    const v = evaluateCaa({
      domain: 'www.example.com',
      relevant: {
        name: 'www.example.com',
        foundAt: 'www.example.com',
        owner: 'cdn.provider.test',
        aliases: ['cdn.provider.test'],
        records: [{ owner: 'cdn.provider.test', flags: 0, tag: 'issue', value: 'ca.invalid' }],
      },
      caIdentities: LE,
    });
    expect(v.message).toBe(
      'CAA forbids www.example.com: issue at cdn.provider.test (via CNAME from www.example.com) allows only ca.invalid, not letsencrypt.org',
    );
    expect(v.fix).toEqual(['add cdn.provider.test. CAA 0 issue "letsencrypt.org"']);
  });
});

describe('RFC 8659 §4.2 issue value grammar', () => {
  it('parses the issuer and parameters; a malformed value authorizes no CA', () => {
    expect(
      parseIssueValue('letsencrypt.org; accounturi=https://a.example/1; validationmethods=dns-01'),
    ).toEqual({
      issuer: 'letsencrypt.org',
      parameters: new Map([
        ['accounturi', 'https://a.example/1'],
        ['validationmethods', 'dns-01'],
      ]),
      malformed: false,
    });
    expect(parseIssueValue(';')).toMatchObject({ issuer: undefined, malformed: false });
    expect(parseIssueValue('lets encrypt.org')).toMatchObject({ issuer: undefined, malformed: true });
    expect(parseIssueValue('letsencrypt.org; =x')).toMatchObject({ malformed: true });
  });
});
