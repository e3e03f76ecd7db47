import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import type { Metafile } from 'esbuild';
import { bundleLambda, bundleModule } from '../infra/bundling.js';
import { functionEnvironment } from '../infra/function-environment.js';
import { demoTaskModule, type LambdaEntry } from '../infra/lambda-entry.js';
import { ENV } from '../shared/env-names.js';
import { median, round } from './stats.js';

const repoFile = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));

/** The Lambdas (those present in this checkout) and the baseline each is compared with (same SDK clients, nothing else). */
const FUNCTIONS = [
  { name: 'api', entry: { kind: 'api', taskModule: demoTaskModule() }, baseline: 'dynamo-sqs' },
  { name: 'worker', entry: { kind: 'worker', taskModule: demoTaskModule() }, baseline: 'dynamo-sqs' },
  { name: 'dead-letter', entry: { kind: 'dead-letter', taskModule: demoTaskModule() }, baseline: 'dynamo' },
  { name: 'recovery', entry: { kind: 'recovery' }, baseline: 'dynamo-sqs' },
  { name: 'callbacks', entry: { kind: 'callbacks', taskModule: demoTaskModule() }, baseline: 'dynamo-sqs' },
] as const satisfies readonly { name: string; entry: LambdaEntry; baseline: string }[];
const BASELINES = {
  'dynamo-sqs': 'bench/cold-start/baseline-dynamo-sqs.ts',
  dynamo: 'bench/cold-start/baseline-dynamo.ts',
} as const;

export interface ColdStartFigure {
  /** Minified JavaScript loaded at init: index.mjs and the chunks it imports. */
  readonly bytes: number;
  /** Minified JavaScript in chunks loaded only by import(), when first needed. */
  readonly lazyBytes: number;
  /** The source maps, trimmed to our own sources (infra/trim-source-map.ts). */
  readonly sourceMapBytes: number;
  /** Deployment package: every file of the bundle, deflated as a zip would hold them. */
  readonly zipBytes: number;
  readonly zipBytesWithoutSourceMap: number;
  /** Median import time of the bundle in a fresh process, with the function's deployed environment. */
  readonly initMs: number;
  readonly baseline: string;
  readonly baselineBytes: number;
  readonly baselineZipBytes: number;
  readonly baselineInitMs: number;
  /** initMs ÷ baselineInitMs. */
  readonly ratio: number;
}

interface Bundle {
  readonly dir: string;
  readonly bytes: number;
  readonly lazyBytes: number;
  readonly sourceMapBytes: number;
  readonly zipBytes: number;
  readonly zipBytesWithoutSourceMap: number;
}

/**
 * Bundles each function as the construct does (infra/bundling.ts `bundleLambda`), so the bundle is the
 * one `cdk deploy` uploads, then times the import of each bundle in fresh `node`
 * processes, interleaved with its baseline so machine noise hits both alike. The baselines are bundled
 * and run the same way: a bare handler deployed like ours.
 */
export async function measureColdStart(runs: number): Promise<Record<string, ColdStartFigure>> {
  const outdir = mkdtempSync(join(tmpdir(), 'offload-bench-bundles-'));
  try {
    const entries = {
      ...Object.fromEntries(FUNCTIONS.map((f): [string, LambdaEntry] => [f.name, f.entry])),
      ...Object.fromEntries(
        Object.entries(BASELINES).map(([name, file]): [string, string] => [`baseline-${name}`, repoFile(file)]),
      ),
    };
    const bundles = bundleAll(entries, outdir);
    const samples = new Map<string, number[]>();
    const record = (key: string, ms: number) => samples.set(key, [...(samples.get(key) ?? []), ms]);
    for (let run = 0; run < runs; run++) {
      for (const [name, bundle] of Object.entries(bundles)) record(name, timeImport(bundle.dir));
    }
    const initOf = (key: string) => round(median(samples.get(key) ?? []));
    return Object.fromEntries(
      FUNCTIONS.map((f) => {
        const bundle = bundles[f.name] as Bundle;
        const baseline = bundles[`baseline-${f.baseline}`] as Bundle;
        const initMs = initOf(f.name);
        const baselineInitMs = initOf(`baseline-${f.baseline}`);
        const figure: ColdStartFigure = {
          bytes: bundle.bytes,
          lazyBytes: bundle.lazyBytes,
          sourceMapBytes: bundle.sourceMapBytes,
          zipBytes: bundle.zipBytes,
          zipBytesWithoutSourceMap: bundle.zipBytesWithoutSourceMap,
          initMs,
          baseline: BASELINES[f.baseline],
          baselineBytes: baseline.bytes,
          baselineZipBytes: baseline.zipBytes,
          baselineInitMs,
          ratio: round(initMs / baselineInitMs, 3),
        };
        return [f.name, figure];
      }),
    );
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

function bundleAll(entries: Record<string, LambdaEntry | string>, outdir: string): Record<string, Bundle> {
  return Object.fromEntries(
    Object.entries(entries).map(([name, entry]) => {
      const dir = join(outdir, name);
      const eager = loadedAtInit(typeof entry === 'string' ? bundleModule(entry, dir) : bundleLambda(entry, dir));
      const files = readdirSync(dir).map((file) => ({ file, data: readFileSync(join(dir, file)) }));
      const sizeOf = (keep: (file: string) => boolean) =>
        files.filter(({ file }) => keep(file)).reduce((sum, { data }) => sum + data.length, 0);
      return [
        name,
        {
          dir,
          bytes: sizeOf((file) => eager.has(file)),
          lazyBytes: sizeOf((file) => file.endsWith('.mjs') && !eager.has(file)),
          sourceMapBytes: sizeOf((file) => file.endsWith('.map')),
          zipBytes: zipSize(files),
          zipBytesWithoutSourceMap: zipSize(files.filter(({ file }) => !file.endsWith('.map'))),
        },
      ];
    }),
  );
}

/** Names of the output files an import of index.mjs loads: it and the chunks it imports statically, transitively. */
function loadedAtInit(metafile: Metafile): Set<string> {
  const fileName = (path: string) => path.slice(path.lastIndexOf('/') + 1);
  // Chunks reached through import() have an entryPoint too: the handler's is the one named index.mjs.
  const entry = Object.keys(metafile.outputs).find((path) => fileName(path) === 'index.mjs');
  const loaded = new Set<string>();
  const pending = entry ? [entry] : [];
  for (let path = pending.pop(); path !== undefined; path = pending.pop()) {
    if (loaded.has(fileName(path))) continue;
    loaded.add(fileName(path));
    for (const imported of metafile.outputs[path]?.imports ?? []) {
      if (imported.kind === 'import-statement' && !imported.external) pending.push(imported.path);
    }
  }
  return loaded;
}

/**
 * Size of a zip holding these files, each deflated at level 9 as the CDK asset publisher's archiver
 * does: local header (30 B + name), data, data descriptor (16 B), central directory entry (46 B + name),
 * end record (22 B). Computed, not written: the figure is what counts against Lambda's limits.
 */
function zipSize(files: readonly { file: string; data: Buffer }[]): number {
  let size = 22;
  for (const { file, data } of files) {
    const name = Buffer.byteLength(file);
    size += 30 + name + deflateRawSync(data, { level: 9 }).length + 16 + 46 + name;
  }
  return size;
}

const PROBE = repoFile('bench/cold-start/probe.mjs');

/**
 * One fresh process, the function's environment pointing at an endpoint nothing listens on. The
 * functions set no NODE_OPTIONS (infra/constructs/offload-function.ts), so neither does this.
 */
function timeImport(dir: string): number {
  const dummyEndpoint = 'http://127.0.0.1:9';
  const env = {
    PATH: process.env.PATH ?? '',
    ...functionEnvironment({
      tableName: 'offload-tasks',
      queueUrl: `${dummyEndpoint}/000000000000/offload-tasks`,
      callbackQueueUrl: `${dummyEndpoint}/000000000000/offload-callbacks`,
      // Read on the first request with a caller, never at init: the ARN only has to be well-formed.
      deploymentKeySecretArn: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:offload-bench',
      // Its S3 client is built on first use, never at init.
      taskDataBucket: 'offload-task-data',
    }),
    [ENV.dynamodbEndpoint]: dummyEndpoint,
    [ENV.sqsEndpoint]: dummyEndpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_LAMBDA_FUNCTION_NAME: 'offload-bench',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
  };
  const output = execFileSync(process.execPath, [PROBE, pathToFileURL(join(dir, 'index.mjs')).href], {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return (JSON.parse(output) as { initMs: number }).initMs;
}
