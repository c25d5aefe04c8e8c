import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Model registry, second slice: archiving versions (who/when), a reason on every alias move
 * (e.g. "promoted by training job …: macroF1 0.97 > 0.91"), and the promotion decision stored on
 * the training job (`{mode, metric, candidate, production, basis, promoted, …}`).
 */
export class ModelsArchivePromotion1764410000000 implements MigrationInterface {
  name = 'ModelsArchivePromotion1764410000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE model_versions ADD COLUMN archived_at timestamptz NULL, ADD COLUMN archived_by varchar(200) NULL`);
    await q.query(`ALTER TABLE model_alias_history ADD COLUMN reason text NULL`);
    await q.query(`ALTER TABLE training_jobs ADD COLUMN promotion jsonb NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE training_jobs DROP COLUMN promotion`);
    await q.query(`ALTER TABLE model_alias_history DROP COLUMN reason`);
    await q.query(`ALTER TABLE model_versions DROP COLUMN archived_by, DROP COLUMN archived_at`);
  }
}
