import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Recommender versions (template `recommender`): `recommender` holds what serving needs besides the
 * embeddings (feedback kind, interaction columns, catalogue sizes and the content hash of the JSON
 * index artifact with the id vocabularies, each user's seen items and the training popularity).
 * Null for every other version.
 */
export class ModelsRecommender1764870000000 implements MigrationInterface {
  name = 'ModelsRecommender1764870000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE model_versions ADD COLUMN recommender jsonb`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE model_versions DROP COLUMN recommender`);
  }
}
