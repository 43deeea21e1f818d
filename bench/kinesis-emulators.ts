/**
 * kinesalite against kinesis-local (kinesis-mock's Node build), to choose the twin's emulator:
 * each emulator in its own process, driven through the production SDK client.
 *
 *   pnpm bench:emulators
 *
 * Measures: single-record PutRecords calls/s, 500-record PutRecords records/s,
 * and reading everything back with GetRecords. Writes .bench/emulators.json.
 */
import {
  CreateStreamCommand,
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import { createClients } from '@snowgate/functions/clients';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { parseCommandLine } from '../cli/args';

parseCommandLine(
  'pnpm bench:emulators',
  `Usage: pnpm bench:emulators

kinesalite against kinesis-local, each in its own process, through the production SDK
client: single-record PutRecords calls/s, 500-record PutRecords records/s, and reading
everything back with GetRecords. Writes .bench/emulators.json. No options.

Options:
  -h, --help   print this help

Example:
  pnpm bench:emulators`,
  { options: {} },
);

const root = new URL('../', import.meta.url).pathname;
const SINGLE_CALLS = 2_000;
const BATCH_CALLS = 40;

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on ${port}`);
}

const emulators: Record<string, (port: number, dir: string) => ChildProcess> = {
  'kinesalite (memory)': (port) =>
    spawn(
      process.execPath,
      ['--input-type=module', '-e', `import k from 'kinesalite'; k({ createStreamMs: 0 }).listen(${port}, '127.0.0.1');`],
      { cwd: root, stdio: 'ignore' },
    ),
  'kinesalite (leveldown)': (port, dir) =>
    spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import k from 'kinesalite'; k({ createStreamMs: 0, path: ${JSON.stringify(dir)} }).listen(${port}, '127.0.0.1');`,
      ],
      { cwd: root, stdio: 'ignore' },
    ),
  'kinesalite (leveldown, BigInt sequences: as the twin runs it)': (port, dir) =>
    spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { speedUpKinesalite } from './packages/twin/src/kinesalite-sequences.mjs'; import k from 'kinesalite'; speedUpKinesalite(); k({ createStreamMs: 0, path: ${JSON.stringify(dir)} }).listen(${port}, '127.0.0.1');`,
      ],
      { cwd: root, stdio: 'ignore' },
    ),
  'kinesis-local 0.6.2 (kinesis-mock)': (port) =>
    spawn(process.execPath, [join(root, 'node_modules/kinesis-local/main.js')], {
      cwd: join(root, 'node_modules/kinesis-local'),
      env: {
        ...process.env,
        KINESIS_MOCK_PLAIN_PORT: String(port),
        KINESIS_MOCK_TLS_PORT: String(port + 1),
        CREATE_STREAM_DURATION: '0ms',
        ROOT_LOG_LEVEL: 'ERROR',
      },
      stdio: 'ignore',
    }),
};

async function measure(name: string) {
  const port = await freePort();
  const dir = mkdtempSync(join(os.tmpdir(), 'snowgate-emu-'));
  const child = emulators[name]!(port, dir);
  try {
    await waitForPort(port);
    const { kinesis } = createClients(
      { region: 'us-east-1', kinesisEndpoint: `http://127.0.0.1:${port}` },
      { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret' },
    );
    await kinesis.send(new CreateStreamCommand({ StreamName: 'bench', ShardCount: 2 }));
    for (let i = 0; i < 200; i++) {
      const d = await kinesis.send(new DescribeStreamCommand({ StreamName: 'bench' }));
      if (d.StreamDescription?.StreamStatus === 'ACTIVE') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const data = Buffer.from(
      JSON.stringify({
        received_at: '2026-11-22T00:00:00.000Z',
        request_id: 'bench',
        record: { id: 'x', type: 'page_view', user: { id: 42 } },
      }),
    );
    let t = performance.now();
    for (let i = 0; i < SINGLE_CALLS; i++)
      await kinesis.send(new PutRecordsCommand({ StreamName: 'bench', Records: [{ PartitionKey: `k${i}`, Data: data }] }));
    const singleCallsPerS = SINGLE_CALLS / ((performance.now() - t) / 1000);
    t = performance.now();
    for (let i = 0; i < BATCH_CALLS; i++) {
      await kinesis.send(
        new PutRecordsCommand({
          StreamName: 'bench',
          Records: Array.from({ length: 500 }, (_, j) => ({ PartitionKey: `b${i}-${j}`, Data: data })),
        }),
      );
    }
    const batchRecordsPerS = (BATCH_CALLS * 500) / ((performance.now() - t) / 1000);
    t = performance.now();
    let read = 0;
    for (const shard of (await kinesis.send(new DescribeStreamCommand({ StreamName: 'bench' }))).StreamDescription!.Shards!) {
      let { ShardIterator: it } = await kinesis.send(
        new GetShardIteratorCommand({ StreamName: 'bench', ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }),
      );
      while (it) {
        const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: it, Limit: 10_000 }));
        read += page.Records?.length ?? 0;
        if (!page.Records?.length) break;
        it = page.NextShardIterator;
      }
    }
    const readRecordsPerS = read / ((performance.now() - t) / 1000);
    kinesis.destroy();
    return {
      emulator: name,
      single_putrecords_calls_per_s: Math.round(singleCallsPerS),
      batch_put_records_per_s: Math.round(batchRecordsPerS),
      getrecords_records_per_s: Math.round(readRecordsPerS),
      records_read_back: read,
    };
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = [];
for (const name of Object.keys(emulators)) results.push(await measure(name));
mkdirSync(join(root, '.bench'), { recursive: true });
writeFileSync(
  join(root, '.bench/emulators.json'),
  JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, results }, null, 2),
);
console.table(results);
