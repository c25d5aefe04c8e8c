/**
 * Signed checkpoints of the audit chains (as Certificate Transparency's signed tree heads): the head
 * of each chain (seq, hash) and the time, signed with the Ed25519 key of `CheckpointKey` (a file,
 * never in the database), exported to the artifact store and recorded in `audit_checkpoints`.
 * Verification checks the chain against the newest one (see ChainVerifier): rewriting history up to
 * a checkpoint, even with the chain head rewritten too, is caught without trusting the database.
 */
import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import { writeAdminEvent, type AdminActor } from '../../platform/audit-trail/admin-event-outbox';
import { ArtifactStore } from '../../platform/artifacts';
import { canonicalJson } from '../chain';
import type { ChainName } from './audit-log.writer';
import { CheckpointKey, type PublishedKey } from './checkpoint-key';

export const CHAINS: readonly ChainName[] = ['predictions', 'events'];

/** What is signed: the canonical JSON (RFC 8785) of this object, exactly as stored in `statement`. */
export interface CheckpointStatement {
  type: 'kiln.audit-checkpoint';
  version: 1;
  chain: ChainName;
  seq: number;
  hash: string;
  at: string;
  keyId: string;
}

export interface SignedCheckpoint {
  id: string;
  chain: ChainName;
  seq: number;
  hash: string;
  at: string;
  keyId: string;
  /** The exact signed bytes (UTF-8) and the base64 Ed25519 signature over them. */
  statement: string;
  signature: string;
  /** The exported copy in the artifact store (`{statement, signature, publicKeyPem}` as JSON). */
  artifactSha256: string;
}

interface CheckpointRow {
  id: string;
  chain: ChainName;
  seq: string;
  hash: string;
  at: Date;
  key_id: string;
  statement: string;
  signature: string;
  artifact_sha256: string;
}

const toCheckpoint = (r: CheckpointRow): SignedCheckpoint => ({
  id: r.id,
  chain: r.chain,
  seq: Number(r.seq),
  hash: r.hash,
  at: new Date(r.at).toISOString(),
  keyId: r.key_id,
  statement: r.statement,
  signature: r.signature,
  artifactSha256: r.artifact_sha256,
});

@Injectable()
export class AuditCheckpoints {
  private readonly logger = new Logger('AuditCheckpoints');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly key: CheckpointKey,
    private readonly artifacts: ArtifactStore,
  ) {}

  publicKey(): PublishedKey {
    return this.key.published();
  }

  /**
   * Signs the current head of each chain. `onlyIfMoved`: skip a chain whose head is the one its
   * newest checkpoint already signed (or still at genesis), as the periodic job does.
   */
  async create(onlyIfMoved = false, actor?: AdminActor): Promise<SignedCheckpoint[]> {
    const heads = (await this.db.query(`SELECT chain, seq, hash FROM audit_chain_heads ORDER BY chain`)) as Array<{
      chain: ChainName;
      seq: string;
      hash: string;
    }>;
    const wanted: typeof heads = [];
    for (const head of heads) {
      if (onlyIfMoved) {
        const newest = await this.newest(head.chain);
        if (Number(head.seq) === 0 || (newest && newest.seq === Number(head.seq) && newest.hash === head.hash)) continue;
      }
      wanted.push(head);
    }
    // An on-demand call's checkpoints commit with its `audit.checkpoint-created` event (by `actor`).
    const created = await this.db.transaction(async (m) => {
      const signed: SignedCheckpoint[] = [];
      for (const head of wanted) signed.push(await this.sign(m, head.chain, Number(head.seq), head.hash));
      if (actor) {
        const after = { publicKey: this.publicKey(), checkpoints: signed };
        await writeAdminEvent(m, actor, { action: 'audit.checkpoint-created', target: {}, before: null, after });
      }
      return signed;
    });
    if (created.length)
      this.logger.log({ checkpoints: created.map((c) => ({ chain: c.chain, seq: c.seq, id: c.id })) }, 'audit checkpoints signed');
    return created;
  }

  async newest(chain: ChainName): Promise<SignedCheckpoint | null> {
    const rows = (await this.db.query(`SELECT * FROM audit_checkpoints WHERE chain = $1 ORDER BY at DESC, seq DESC LIMIT 1`, [
      chain,
    ])) as CheckpointRow[];
    return rows[0] ? toCheckpoint(rows[0]) : null;
  }

  /** Newest first. */
  async list(limit: number): Promise<SignedCheckpoint[]> {
    const rows = (await this.db.query(`SELECT * FROM audit_checkpoints ORDER BY at DESC, chain LIMIT $1`, [limit])) as CheckpointRow[];
    return rows.map(toCheckpoint);
  }

  private async sign(m: EntityManager, chain: ChainName, seq: number, hash: string): Promise<SignedCheckpoint> {
    const { keyId, publicKeyPem } = this.key.published();
    const at = new Date().toISOString();
    const body: CheckpointStatement = { type: 'kiln.audit-checkpoint', version: 1, chain, seq, hash, at, keyId };
    const statement = canonicalJson(body);
    const signature = this.key.sign(statement);
    const exported = Buffer.from(`${JSON.stringify({ statement, signature, publicKeyPem })}\n`, 'utf8');
    const { sha256 } = await this.artifacts.put(exported);
    const id = randomUUID();
    const rows = (await m.query(
      `INSERT INTO audit_checkpoints (id, chain, seq, hash, at, statement, signature, key_id, artifact_sha256)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
      [id, chain, seq, hash, at, statement, signature, keyId, sha256],
    )) as CheckpointRow[];
    return toCheckpoint(rows[0]!);
  }
}

/** The statement a valid signature covers, or null when it is not one of ours (malformed). */
export function parseStatement(statement: string): CheckpointStatement | null {
  try {
    const s = JSON.parse(statement) as CheckpointStatement;
    const ok = s.type === 'kiln.audit-checkpoint' && CHAINS.includes(s.chain) && Number.isSafeInteger(s.seq) && typeof s.hash === 'string';
    return ok ? s : null;
  } catch {
    return null;
  }
}
