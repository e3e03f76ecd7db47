import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';

/** Runtime and architecture of every offload Lambda (also what the benchmark bundles for). */
export const LAMBDA_RUNTIME = Runtime.NODEJS_24_X;
export const LAMBDA_ARCHITECTURE = Architecture.ARM_64;

const repoFile = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));

/**
 * How NodejsFunction bundles every offload Lambda with esbuild. Shared by the construct and the
 * benchmark (bench/cold-start.ts), so the measured bundle is the deployed one.
 */
export const LAMBDA_BUNDLING: BundlingOptions = {
  forceDockerBundling: false,
  format: OutputFormat.ESM,
  mainFields: ['module', 'main'],
  // Bundled CommonJS dependencies may still call require(), which ESM output does not define.
  banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
  // Pin the SDK we test against instead of whatever version the runtime ships.
  bundleAwsSDK: true,
  minify: true,
  sourceMap: true,
  // Stack traces need only the mappings; the sources would double the asset for nothing.
  sourcesContent: false,
  // Readable stack traces without `--enable-source-maps`, which parsed the whole map at every cold start:
  // the injected module maps frames when an error is formatted, from a map trimmed to our own sources.
  inject: [repoFile('shared/aws/source-mapped-stacks.ts')],
  commandHooks: {
    beforeBundling: () => [],
    beforeInstall: () => [],
    // The Node running the synth runs the script (Node 24 runs TypeScript without a loader).
    afterBundling: (inputDir, outputDir) => [
      `"${process.execPath}" "${repoFile('infra/trim-source-map.ts')}" "${join(outputDir, 'index.mjs.map')}" "${inputDir}"`,
    ],
  },
};
