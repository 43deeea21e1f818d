/**
 * `pnpm replay`: re-submits quarantined records once their producer (or a fix) is right.
 * `pnpm replay --help` prints the options (`usage` below).
 */
import { toolEnv } from '@snowgate/config';
import { ConfigError, REJECTION_REASONS } from '@snowgate/core';
import { FixModuleError, loadFix, replay, resolveTarget, ReplayLockedError, type ObjectReport } from '@snowgate/replay';
import { parseArguments, UsageError } from './args';

const usage = `Usage: pnpm replay [options]

Re-submits quarantined records through today's checks (limits, id, contracts).
A dry run unless --send: it says what would be sent and what would still fail.

Where:
  --stage <name>          local (default: the twin) or a deployed stage
  --data-dir <dir>        the twin's data dir (default .snowgate)
  --config <file>         the twin's stage config file, if it was started with one
  --outputs <file>        SST's outputs file for a deployed stage (default .sst/outputs.json)
  --schemas-dir <dir>     where the contracts' schemas are (default schemas)
  --region <region>       AWS region of a deployed stage

What:
  --from <time>           received at or after (ISO 8601: 2026-12-01 or 2026-12-01T08:00Z)
  --to <time>             received before (exclusive)
  --reason <reason>       only rejected records with this reason; repeatable or comma-separated
  --request-id <id>       only the quarantine object of this answer's requestId
  --fix <module>          a .ts/.js module whose default export (record, context) => record | null
                          repairs each record; null drops it from this run
  --limit <n>             stop after n quarantine objects
  --concurrency <n>       quarantine objects at a time, 1 to 64 (default 8)

How:
  --send                  send (without it, a dry run: nothing is written anywhere)
  --break-lock            remove the lock of a replay that died, then run
  --json                  print the whole report as JSON
  -h, --help              print this help

Examples:
  pnpm replay                                             # dry run on the twin
  pnpm replay --reason missing_id --from 2026-12-01 --to 2026-12-02T12:00Z
  pnpm replay --reason missing_id --fix fixes/add-id.ts --send
  pnpm replay --request-id 'LIxCyGd7SK4FjEg='                 # the quarantine object of an answer
  pnpm replay --stage dev --reason schema_violation --send`;

function time(value: string | undefined, name: string): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(date.getTime()))
    throw new ConfigError(`--${name} ${value} is not a date or time (ISO 8601, such as 2026-12-01 or 2026-12-01T08:00Z)`);
  return date;
}

const line = (o: ObjectReport) => {
  const parts = ['sent' in o ? `sent ${o.sent}` : `would send ${o.wouldSend}`];
  if (o.alreadySent) parts.push(`${o.alreadySent} already replayed`);
  if (o.recovered) parts.push(`${o.recovered} found on the stream from an interrupted run`);
  if (o.failing.length) parts.push(`${o.failing.length} still failing`);
  if (o.dropped.length) parts.push(`${o.dropped.length} dropped by the fix`);
  const details = [
    ...o.failing.map((f) => ({ index: f.index, text: `${f.reason}: ${f.message}` })),
    ...o.dropped.map((index) => ({ index, text: 'dropped by the fix' })),
  ].sort((a, b) => a.index - b.index);
  return `${o.receivedAt}  ${o.key}\n    ${o.reasons.join(', ')} → ${parts.join(' · ')}${details.map((d) => `\n      [${d.index}] ${d.text}`).join('')}`;
};

try {
  const { values } = parseArguments({
    options: {
      stage: { type: 'string', default: 'local' },
      'data-dir': { type: 'string' },
      config: { type: 'string' },
      outputs: { type: 'string' },
      'schemas-dir': { type: 'string' },
      region: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      reason: { type: 'string', multiple: true },
      'request-id': { type: 'string' },
      fix: { type: 'string' },
      limit: { type: 'string' },
      concurrency: { type: 'string' },
      send: { type: 'boolean', default: false },
      'break-lock': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const reasons = (values.reason ?? [])
    .flatMap((r) => r.split(','))
    .map((r) => r.trim())
    .filter(Boolean);
  const unknown = reasons.filter((r) => !(REJECTION_REASONS as readonly string[]).includes(r));
  if (unknown.length) throw new ConfigError(`unknown reason(s) ${unknown.join(', ')}; known: ${REJECTION_REASONS.join(', ')}`);
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new ConfigError('--limit takes a positive number of objects');
  const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64))
    throw new ConfigError('--concurrency takes 1 to 64 objects at a time');

  const fix = values.fix ? await loadFix(values.fix) : undefined;
  const target = resolveTarget({
    stage: values.stage!,
    dataDir: values['data-dir'],
    config: values.config,
    outputs: values.outputs,
    schemasDir: values['schemas-dir'],
    region: values.region,
  });
  const dryRun = !values.send;
  if (!values.json)
    console.error(
      `${dryRun ? 'Dry run (nothing is sent; --send sends)' : 'Replaying'} from ${target.description}${fix ? `, fix ${fix.name}` : ''}, contracts ${target.settings.contracts.mode}`,
    );
  try {
    const report = await replay(
      {
        send: values.send!,
        fix,
        from: time(values.from, 'from'),
        to: time(values.to, 'to'),
        reasons,
        requestId: values['request-id'],
        limit,
        concurrency,
        breakLock: values['break-lock']!,
        onObject: (o) => values.json || console.log(line(o)),
      },
      { s3: target.clients.s3, kinesis: target.clients.kinesis, settings: target.settings, contracts: target.contracts },
    );
    if (values.json) console.log(JSON.stringify(report, null, 2));
    else {
      const t = report.totals;
      const count = report.dryRun ? `would send ${report.totals.wouldSend}` : `sent ${report.totals.sent}`;
      console.log(
        `\n${t.objects} quarantine objects: ${count} records` +
          `, ${t.alreadySent} already replayed${t.recovered ? `, ${t.recovered} recovered from the stream` : ''}, ${t.failing} still failing, ${t.dropped} dropped by the fix` +
          (report.dryRun && report.totals.wouldSend ? '. Run again with --send to send them.' : '.'),
      );
    }
  } finally {
    target.clients.kinesis.destroy();
    target.clients.s3.destroy();
  }
} catch (error) {
  if (error instanceof UsageError) {
    console.error(`replay: ${error.message} (pnpm replay --help lists the options)`);
    process.exit(2);
  }
  const known = error instanceof ConfigError || error instanceof FixModuleError || error instanceof ReplayLockedError;
  console.error(`replay: ${(error as Error).message}`);
  if (!known && toolEnv().debug) console.error(error);
  process.exit(known ? 2 : 1);
}
