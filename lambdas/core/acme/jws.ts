/**
 * JSON Web Signatures for ACME requests (RFC 8555 §6.2 over RFC 7515), with node:crypto only:
 * flattened JWS JSON serialization, `ES256`/`ES384` (RFC 7518 §3.4) and `RS256` (§3.3) account
 * keys, JWK thumbprints (RFC 7638) and the External Account Binding MAC (RFC 8555 §7.3.4).
 */
import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  type KeyObject,
  sign,
} from 'node:crypto';
import { promisify } from 'node:util';
import { CertflowError } from '../errors';

const generateKeyPairAsync = promisify(generateKeyPair);

/** A flattened JWS (RFC 7515 §7.2.2), the body of every ACME POST (RFC 8555 §6.2). */
export interface FlattenedJws {
  protected: string;
  payload: string;
  signature: string;
}

/** A public JSON Web Key (RFC 7517) of an account key. */
export type PublicJwk =
  | { kty: 'EC'; crv: string; x: string; y: string }
  | { kty: 'RSA'; n: string; e: string };

/** An External Account Binding credential from the CA (RFC 8555 §7.3.4). */
export interface EabKey {
  /** The key identifier the CA gave. */
  kid: string;
  /** The MAC key, base64url as the CA gives it. Secret. */
  hmacKey: string;
}

/** base64url without padding (RFC 7515 §2). */
export function base64url(data: string | Buffer): string {
  return (typeof data === 'string' ? Buffer.from(data, 'utf8') : data).toString('base64url');
}

/** A new ACME account key: ECDSA P-256, PKCS#8 PEM (signs as ES256). Secret. */
export async function createAccountKeyPem(): Promise<string> {
  const { privateKey } = await generateKeyPairAsync('ec', { namedCurve: 'P-256' });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/**
 * An ACME account key: signs request bodies (RFC 8555 §6.2) and knows its JWK and thumbprint.
 * Holds the private key in a KeyObject; never prints it.
 */
export class AccountKey {
  /** JWS `alg` for this key (RFC 7518 §3.1). */
  readonly alg: 'ES256' | 'ES384' | 'RS256';
  /** The public key as a JWK (RFC 7517), for `jwk` headers and thumbprints. */
  readonly jwk: PublicJwk;
  private readonly key: KeyObject;
  private readonly hash: 'sha256' | 'sha384';

  /** @throws CertflowError when the PEM is not an EC P-256/P-384 or RSA private key (the PEM is never quoted). */
  constructor(privateKeyPem: string | KeyObject) {
    let key: KeyObject;
    try {
      key = typeof privateKeyPem === 'string' ? createPrivateKey(privateKeyPem) : privateKeyPem;
    } catch {
      // No cause: parser messages may quote the input, which is a secret.
      throw new CertflowError('the ACME account key is not a PEM private key');
    }
    const jwk = createPublicKey(key).export({ format: 'jwk' });
    if (key.asymmetricKeyType === 'ec' && (jwk.crv === 'P-256' || jwk.crv === 'P-384')) {
      this.alg = jwk.crv === 'P-256' ? 'ES256' : 'ES384';
      this.hash = jwk.crv === 'P-256' ? 'sha256' : 'sha384';
      this.jwk = { kty: 'EC', crv: jwk.crv, x: String(jwk.x), y: String(jwk.y) };
    } else if (key.asymmetricKeyType === 'rsa') {
      this.alg = 'RS256';
      this.hash = 'sha256';
      this.jwk = { kty: 'RSA', n: String(jwk.n), e: String(jwk.e) };
    } else {
      const curve = key.asymmetricKeyType === 'ec' && jwk.crv ? ` ${jwk.crv}` : '';
      throw new CertflowError(
        `the ACME account key is ${key.asymmetricKeyType}${curve}; use ECDSA P-256 (ES256), P-384 or RSA`,
      );
    }
    this.key = key;
  }

  /** RFC 7638 JWK thumbprint of this key. */
  thumbprint(): string {
    return jwkThumbprint(this.jwk);
  }

  /**
   * Sign an ACME request body (RFC 8555 §6.2): protected header `{alg, nonce, url}` plus `kid`
   * (the account URL) or, for newAccount, `jwk`. `payload` `undefined` means POST-as-GET (§6.3:
   * empty payload).
   */
  sign(
    header: { url: string; nonce: string; kid?: string },
    payload: Record<string, unknown> | undefined,
  ): FlattenedJws {
    const protectedHeader: Record<string, unknown> = { alg: this.alg, nonce: header.nonce, url: header.url };
    if (header.kid) protectedHeader.kid = header.kid;
    else protectedHeader.jwk = this.jwk;
    const encodedProtected = base64url(JSON.stringify(protectedHeader));
    const encodedPayload = payload === undefined ? '' : base64url(JSON.stringify(payload));
    const signature = sign(this.hash, Buffer.from(`${encodedProtected}.${encodedPayload}`, 'ascii'), {
      key: this.key,
      // RFC 7518 §3.4: ECDSA signatures are R || S, not DER.
      dsaEncoding: 'ieee-p1363',
    });
    return { protected: encodedProtected, payload: encodedPayload, signature: base64url(signature) };
  }
}

/** RFC 7638 JWK thumbprint: SHA-256 over the required members in lexicographic order, base64url. */
export function jwkThumbprint(jwk: PublicJwk): string {
  const canonical =
    jwk.kty === 'EC'
      ? JSON.stringify({ crv: jwk.crv, kty: 'EC', x: jwk.x, y: jwk.y })
      : JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n });
  return base64url(createHash('sha256').update(canonical).digest());
}

/**
 * The `externalAccountBinding` member of a newAccount payload (RFC 8555 §7.3.4): a JWS over the
 * account's public JWK, MACed (HS256) with the CA-issued key, protected header `{alg, kid, url}`
 * with `url` the newAccount URL. No nonce.
 */
export function externalAccountBinding(eab: EabKey, newAccountUrl: string, jwk: PublicJwk): FlattenedJws {
  const key = Buffer.from(eab.hmacKey, 'base64url');
  if (key.length === 0) {
    throw new CertflowError(
      `the External Account Binding HMAC key for kid "${eab.kid}" is empty; set it to the base64url key the CA gave`,
    );
  }
  const encodedProtected = base64url(JSON.stringify({ alg: 'HS256', kid: eab.kid, url: newAccountUrl }));
  const encodedPayload = base64url(JSON.stringify(jwk));
  const mac = createHmac('sha256', key).update(`${encodedProtected}.${encodedPayload}`, 'ascii').digest();
  return { protected: encodedProtected, payload: encodedPayload, signature: base64url(mac) };
}

/** RFC 8555 §8.1 key authorization: `token || '.' || base64url(JWK thumbprint)`. */
export function keyAuthorization(token: string, key: AccountKey): string {
  return `${token}.${key.thumbprint()}`;
}

/** RFC 8555 §8.4 dns-01 TXT value: base64url(SHA-256(key authorization)). */
export function dns01TxtValue(token: string, key: AccountKey): string {
  return base64url(createHash('sha256').update(keyAuthorization(token, key)).digest());
}
