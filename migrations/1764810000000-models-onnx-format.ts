import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Engines, ONNX import: a model version may be an imported ONNX graph (`format = 'onnx'`; the graph
 * is the `weights_sha256` blob, `model_json_sha256` a small JSON manifest beside it).
 */
export class ModelsOnnxFormat1764810000000 implements MigrationInterface {
  name = 'ModelsOnnxFormat1764810000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE model_versions DROP CONSTRAINT model_versions_format_check`);
    await q.query(
      `ALTER TABLE model_versions ADD CONSTRAINT model_versions_format_check CHECK (format IN ('layers-model', 'graph-model', 'onnx'))`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE model_versions DROP CONSTRAINT model_versions_format_check`);
    await q.query(
      `ALTER TABLE model_versions ADD CONSTRAINT model_versions_format_check CHECK (format IN ('layers-model', 'graph-model'))`,
    );
  }
}
