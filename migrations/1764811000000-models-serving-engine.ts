import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Engines, Kiln-trained models on ONNX Runtime: a trained version keeps the ONNX graph exported from
 * its TF.js artifact at registration (`onnx_sha256`, null when it has none), and a model's serving
 * settings choose the engine (`tfjs`, the default; `onnxruntime`; `auto`).
 */
export class ModelsServingEngine1764811000000 implements MigrationInterface {
  name = 'ModelsServingEngine1764811000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE model_versions ADD COLUMN onnx_sha256 char(64)`);
    await q.query(
      `ALTER TABLE model_serving_settings ADD COLUMN engine varchar(16) NOT NULL DEFAULT 'tfjs' ` +
        `CONSTRAINT model_serving_settings_engine_check CHECK (engine IN ('tfjs', 'onnxruntime', 'auto'))`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE model_serving_settings DROP COLUMN engine`);
    await q.query(`ALTER TABLE model_versions DROP COLUMN onnx_sha256`);
  }
}
