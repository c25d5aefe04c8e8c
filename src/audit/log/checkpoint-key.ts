/**
 * The Ed25519 key that signs audit checkpoints. It lives in a file (KILN_AUDIT_SIGNING_KEY_FILE,
 * default `<dataDir>/keys/audit-signing.pem`), never in the database, so someone who can rewrite the
 * database cannot forge a checkpoint. Created (mode 0600, directory 0700) on first use when missing.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { KILN_CONFIG, type KilnConfig } from '../../platform/config/kiln-config';

export interface PublishedKey {
  algorithm: 'ed25519';
  /** SHA-256 (hex) of the public key's DER (SubjectPublicKeyInfo) encoding. */
  keyId: string;
  /** SPKI PEM: verify a checkpoint with `crypto.verify(null, Buffer.from(statement), publicKey, signature)`. */
  publicKeyPem: string;
}

@Injectable()
export class CheckpointKey {
  private readonly logger = new Logger('CheckpointKey');
  private loaded: { privateKey: KeyObject; publicKey: KeyObject; published: PublishedKey } | null = null;

  constructor(@Inject(KILN_CONFIG) private readonly config: KilnConfig) {}

  get file(): string {
    return this.config.audit.signingKeyFile;
  }

  published(): PublishedKey {
    return this.load().published;
  }

  /** Base64 Ed25519 signature of the bytes. */
  sign(statement: string): string {
    return sign(null, Buffer.from(statement, 'utf8'), this.load().privateKey).toString('base64');
  }

  verify(statement: string, signature: string): boolean {
    try {
      return verify(null, Buffer.from(statement, 'utf8'), this.load().publicKey, Buffer.from(signature, 'base64'));
    } catch {
      return false;
    }
  }

  private load(): NonNullable<CheckpointKey['loaded']> {
    if (this.loaded) return this.loaded;
    const file = this.file;
    let pem: string;
    try {
      pem = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      pem = this.create(file);
    }
    const mode = statSync(file).mode & 0o077;
    if (mode !== 0)
      this.logger.warn({ file, mode: (statSync(file).mode & 0o777).toString(8) }, 'audit signing key file is readable by group or others');
    const privateKey = createPrivateKey(pem);
    if (privateKey.asymmetricKeyType !== 'ed25519')
      throw new Error(`${file}: expected an Ed25519 private key, found ${privateKey.asymmetricKeyType}`);
    const publicKey = createPublicKey(privateKey);
    const der = publicKey.export({ type: 'spki', format: 'der' });
    const published: PublishedKey = {
      algorithm: 'ed25519',
      keyId: createHash('sha256').update(der).digest('hex'),
      publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    };
    this.loaded = { privateKey, publicKey, published };
    return this.loaded;
  }

  private create(file: string): string {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    try {
      // 'wx': another process that created it first wins; read theirs.
      writeFileSync(file, pem, { mode: 0o600, flag: 'wx' });
      chmodSync(file, 0o600);
      this.logger.log({ file }, 'created the audit checkpoint signing key');
      return pem;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(file, 'utf8');
      throw e;
    }
  }
}
