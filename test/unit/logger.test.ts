import { JsonLogger, redact } from '../../lambdas/core/logger';

describe('logger', () => {
  it('never writes PEM blocks or secret-named fields', () => {
    const lines: string[] = [];
    const logger = new JsonLogger((l) => lines.push(l), { step: 'FinalizeAndStore' });
    const pem =
      '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----';
    logger.info(`got ${pem}`, {
      privateKeyPem: 'abc',
      tsigSecret: 'c2VjcmV0',
      nested: { note: pem },
      serial: '01',
    });
    const text = lines.join('\n');
    expect(text).not.toContain('BEGIN PRIVATE KEY');
    expect(text).not.toContain('MIGHAgEAMBMG');
    expect(text).not.toContain('c2VjcmV0');
    expect(JSON.parse(lines[0])).toMatchObject({
      level: 'info',
      step: 'FinalizeAndStore',
      serial: '01',
      privateKeyPem: '[redacted]',
    });
  });

  it('redacts inside errors', () => {
    expect(redact(new Error('-----BEGIN EC PRIVATE KEY-----xyz-----END EC PRIVATE KEY-----'))).toEqual({
      name: 'Error',
      message: '[redacted PEM]',
    });
  });
});
