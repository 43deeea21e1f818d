import { generateKeyPairSync } from 'node:crypto';

/** A fresh RSA key pair as a Snowflake user has one: the public key SPKI PEM, the private key PKCS#8 PEM, unencrypted. */
export function rsaPemKeyPair(): { publicKey: string; privateKey: string } {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}
