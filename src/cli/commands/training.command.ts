/** `kiln train` and `kiln jobs list|show|follow|cancel`. */
import { Command, Option } from 'commander';
import { contextOf, findDataset, intOption, numberOption, UsageError, type CliContext } from '../cli-context';
import { followJob } from '../follow-job';
import { details, emit, headlineMetric, table, when } from '../output';

/** Prints how a followed job ended; a job that did not succeed is an error (exit 1). */
function finish({ out }: CliContext, job: any): void {
  emit(out, job, () => {
    if (job.status === 'succeeded') {
      const mv = job.modelVersion;
      const es = job.earlyStopping;
      process.stdout.write(
        `training job ${job.id} succeeded: ${mv ? `model ${mv.model} v${mv.version}` : 'no version'}, ${headlineMetric(job.metrics)}` +
          (es ? `, best epoch ${es.bestEpoch} of ${es.epochsCompleted}${es.stoppedEarly ? ' (stopped early)' : ''}` : '') +
          (job.promotion ? `, ${job.promotion.promoted ? 'promoted to production' : 'not promoted'}` : '') +
          '\n',
      );
    } else {
      process.stdout.write(`training job ${job.id} ${job.status}${job.error ? `: ${job.error.message}` : ''}\n`);
    }
  });
  if (job.status !== 'succeeded') process.exitCode = 1;
}

export function trainCommand(): Command {
  return new Command('train')
    .description('queue a training job on the newest ready version of a dataset')
    .requiredOption('-d, --dataset <dataset>', 'dataset name or id (its newest ready version), or a dataset version id with --version-id')
    .requiredOption('-t, --target <column>', 'the column to predict')
    .requiredOption('-m, --model <name>', 'registry name the trained version is registered under')
    .option('--version-id', 'take --dataset as a dataset version id')
    .addOption(new Option('--task <task>', 'inferred from the target when omitted').choices(['binary', 'multiclass', 'regression']))
    .addOption(new Option('--template <template>', 'model template').choices(['mlp', 'linear']))
    .option('--features <columns>', 'comma list of feature columns (default: every other column)')
    .option('--epochs <n>', 'epochs (default 50)', intOption('--epochs'))
    .option('--batch-size <n>', 'batch size (default 32)', intOption('--batch-size'))
    .option('--learning-rate <x>', 'learning rate (default 0.001)', numberOption('--learning-rate'))
    .option('--patience <n>', 'early-stopping patience in epochs, 0 = off (default 5)', intOption('--patience'))
    .option('--class-weights <balanced>', "'balanced' for imbalanced classes")
    .option('--positive-class <label>', 'binary: the positive class (default the minority class)')
    .addOption(new Option('--promote <mode>', 'on success: move the production alias').choices(['never', 'always', 'if-better']))
    .option('--promote-metric <metric>', 'metric for --promote if-better')
    .option('-f, --follow', 'show progress until the job ends (exit 1 unless it succeeds)')
    .action(async (o: Record<string, any>, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { client, out } = ctx;
      let datasetVersionId: string;
      if (o.versionId) datasetVersionId = o.dataset as string;
      else {
        const dataset = await findDataset(client, o.dataset as string);
        if (!dataset.latestReadyVersion) throw new UsageError(`dataset '${dataset.name}' has no ready version yet`);
        datasetVersionId = dataset.latestReadyVersion.id as string;
      }
      const hyperparameters = Object.fromEntries(
        Object.entries({
          epochs: o.epochs,
          batchSize: o.batchSize,
          learningRate: o.learningRate,
          earlyStoppingPatience: o.patience,
          classWeights: o.classWeights,
        }).filter(([, v]) => v !== undefined),
      );
      const body = {
        datasetVersionId,
        target: o.target,
        modelName: o.model,
        ...(o.task ? { task: o.task } : {}),
        ...(o.template ? { template: o.template } : {}),
        ...(o.features
          ? {
              features: String(o.features)
                .split(',')
                .map((f) => f.trim()),
            }
          : {}),
        ...(o.positiveClass ? { positiveClass: o.positiveClass } : {}),
        ...(Object.keys(hyperparameters).length ? { hyperparameters } : {}),
        ...(o.promote ? { promote: o.promote } : {}),
        ...(o.promoteMetric ? { promoteMetric: o.promoteMetric } : {}),
      };
      const created = await client.post('/api/training-jobs', body);
      if (!o.follow) {
        emit(out, created, () => process.stdout.write(`training job ${created.id} ${created.status}\n`));
        return;
      }
      if (!out.json) process.stderr.write(`training job ${created.id} queued\n`);
      finish(ctx, await followJob(client, created.id as string));
    });
}

export function jobsCommand(): Command {
  const jobs = new Command('jobs').description('training jobs');

  jobs
    .command('list')
    .description('training jobs, newest first')
    .option('-s, --status <statuses>', 'comma list: queued, running, succeeded, failed, cancelled')
    .option('-m, --model <name>', 'only jobs of this model')
    .option('-d, --dataset <dataset>', 'only jobs on this dataset (name or id) or dataset version id')
    .option('-l, --limit <n>', 'at most this many (default 100)', intOption('--limit'))
    .option('-c, --cursor <cursor>', 'the next page (printed after a full page)')
    .action(async (o: Record<string, string | number | undefined>, cmd: Command) => {
      const { client, out } = contextOf(cmd);
      const q = new URLSearchParams();
      for (const k of ['status', 'model', 'dataset', 'limit', 'cursor']) if (o[k] !== undefined) q.set(k, String(o[k]));
      const { body, response } = await client.call<any[]>('GET', `/api/training-jobs${q.size ? `?${q.toString()}` : ''}`);
      table(out, body, [
        ['id', (j) => j.id],
        ['status', (j) => j.status],
        ['model', (j) => (j.modelVersion ? `${j.modelVersion.model} v${j.modelVersion.version}` : j.modelName)],
        ['epoch', (j) => (j.progress ? `${j.progress.epoch}/${j.progress.epochs}` : '-')],
        ['test', (j) => headlineMetric(j.metrics)],
        ['created', (j) => when(j.createdAt)],
      ]);
      const next = response.headers.get('x-next-cursor');
      if (next && !out.json) process.stderr.write(`more: kiln jobs list --cursor ${next}\n`);
    });

  jobs
    .command('show')
    .description('a training job: status, resolved configuration, early stopping, metrics')
    .argument('<id>', 'training job id')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const { client, out } = contextOf(cmd);
      const job = await client.get(`/api/training-jobs/${id}`);
      if (out.json) {
        emit(out, job, () => undefined);
        return;
      }
      details(out, { ...job, history: `${job.history?.length ?? 0} epochs (--json shows them)` }, [
        'id',
        'status',
        'modelName',
        'datasetVersionId',
        'progress',
        'modelVersion',
        'metrics',
        'resolved',
        'earlyStopping',
        'promotion',
        'error',
        'history',
        'createdAt',
        'startedAt',
        'finishedAt',
      ]);
    });

  jobs
    .command('follow')
    .description('show a job’s progress until it ends (exit 1 unless it succeeds)')
    .argument('<id>', 'training job id')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const ctx = contextOf(cmd);
      finish(ctx, await followJob(ctx.client, id));
    });

  jobs
    .command('cancel')
    .description('cancel a queued or running job')
    .argument('<id>', 'training job id')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const { client, out } = contextOf(cmd);
      const job = await client.post(`/api/training-jobs/${id}/cancel`);
      emit(out, job, () =>
        process.stdout.write(`training job ${job.id}: ${job.status}${job.cancelRequested ? ' (cancel requested)' : ''}\n`),
      );
    });

  return jobs;
}
