import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import { Architecture, Code, Runtime } from 'aws-cdk-lib/aws-lambda';
import { type BuildOptions, buildSync, type Metafile } from 'esbuild';
import { entrySource, type LambdaEntry, ownModulePath } from './lambda-entry.js';
import { projectSource, type RawSourceMap, trimSourceMap } from './trim-source-map.js';

/** Runtime and architecture of every offload Lambda (also what the benchmark bundles for). */
export const LAMBDA_RUNTIME = Runtime.NODEJS_24_X;
export const LAMBDA_ARCHITECTURE = Architecture.ARM_64;
/** The bundle's entry file is index.mjs; it exports `handler`. */
export const LAMBDA_HANDLER = 'index.handler';

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * How every offload Lambda is bundled (esbuild, locally: nothing needs Docker). Used by the
 * construct, the benchmark (bench/cold-start.ts) and the tests, so the measured bundle is the
 * deployed one.
 */
export const LAMBDA_ESBUILD_OPTIONS = {
  bundle: true,
  platform: 'node',
  target: LAMBDA_RUNTIME.name.replace(/^nodejs(\d+)\.x$/, 'node$1'),
  format: 'esm',
  mainFields: ['module', 'main'],
  // Bundled CommonJS dependencies may still call require(), which ESM output does not define.
  banner: { js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);" },
  minify: true,
  // Code reached only through import() goes to files of its own, read and parsed when first imported
  // instead of at every cold start: the X-Ray SDK (shared/aws/powertools-observability.ts), the OpenAPI
  // document, the credential providers the SDK imports lazily. A lazily imported client added later
  // (Secrets Manager, say) is split off the same way.
  splitting: true,
  outExtension: { '.js': '.mjs' },
  chunkNames: '[name]-[hash]',
  sourcemap: true,
  // Stack traces need only the mappings; the sources would double the asset for nothing.
  sourcesContent: false,
  // Readable stack traces without `--enable-source-maps`, which parsed the whole map at every cold start:
  // the injected module maps frames when an error is formatted, from maps trimmed to our own sources.
  inject: [ownModulePath('shared/aws/source-mapped-stacks')],
  absWorkingDir: PROJECT_ROOT,
  metafile: true,
  logLevel: 'warning',
} satisfies BuildOptions;

/**
 * Bundles the function `entry` describes (its handler factory and task module, see
 * infra/lambda-entry.ts) into `outdir`: index.mjs, which exports `handler`, the chunks only it loads,
 * and their source maps cut down to offload's and the task module's own files
 * (infra/trim-source-map.ts). Returns esbuild's account of the output.
 */
export function bundleLambda(entry: LambdaEntry, outdir: string): Metafile {
  // buildSync takes no plugins, so the generated entry is a file: in a directory of its own, so its
  // name cannot collide and nothing of it stays behind.
  const entryDir = mkdtempSync(join(tmpdir(), 'offload-entry-'));
  try {
    const entryFile = join(entryDir, `${entry.kind}.mjs`);
    writeFileSync(entryFile, entrySource(entry));
    return bundleModule(entryFile, outdir, entry.taskModule ? [packageRootOf(entry.taskModule)] : []);
  } finally {
    rmSync(entryDir, { recursive: true, force: true });
  }
}

/**
 * Bundles the module `file` (which exports `handler`) as every offload function is bundled; source
 * maps keep offload's own files and those under `sourceRoots`. The benchmark's baselines use it.
 */
export function bundleModule(file: string, outdir: string, sourceRoots: readonly string[] = []): Metafile {
  const { metafile } = buildSync({ ...LAMBDA_ESBUILD_OPTIONS, entryPoints: { index: file }, outdir });
  const roots = [PROJECT_ROOT, ...sourceRoots];
  for (const name of readdirSync(outdir).filter((name) => name.endsWith('.map'))) {
    const path = join(outdir, name);
    const trimmed = trimSourceMap(JSON.parse(readFileSync(path, 'utf8')) as RawSourceMap, projectSource(path, roots));
    // A chunk of dependencies only keeps its bundle positions in stack traces: its map would be empty.
    if (trimmed.sources.length === 0) rmSync(path);
    else writeFileSync(path, JSON.stringify(trimmed));
  }
  return metafile;
}

/** The folder of the nearest package.json above `file` (the project a task module belongs to), else its own folder. */
export function packageRootOf(file: string): string {
  let dir = dirname(file);
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return dirname(file);
    dir = parent;
  }
}

/** The deployment package of the function `entry` describes, bundled at synth. */
export function lambdaCode(entry: LambdaEntry): Code {
  return Code.fromAsset(PROJECT_ROOT, {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Required by the type, never pulled or run: local bundling always succeeds. The command names the
      // function and its task module all the same, because CDK reuses a staged asset whose source and
      // bundling options match, and it cannot see into tryBundle.
      image: DockerImage.fromRegistry('public.ecr.aws/sam/build-nodejs24.x'),
      command: ['bundle-lambda', entry.kind, ...(entry.taskModule ? [entry.taskModule] : [])],
      local: {
        tryBundle: (outputDir) => {
          bundleLambda(entry, outputDir);
          return true;
        },
      },
    },
  });
}
