import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, CfnElement, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { OffloadStack } from '../../infra/offload-stack.js';

/** The feature flags of cdk.json, so the tests synthesize what `cdk synth` does. */
const cdkJsonContext: Record<string, unknown> = JSON.parse(
  readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'),
).context;

export interface SynthOptions {
  /** Extra CDK context, as `-c key=value` would pass it. */
  readonly context?: Record<string, unknown>;
  /** Run esbuild for the Lambda assets; off by default because it is the slow part. */
  readonly bundle?: boolean;
  /** Adds things to the stack before it is synthesized. */
  readonly extend?: (app: App, stack: Stack) => void;
}

export interface SynthesizedStack {
  readonly app: App;
  readonly stack: OffloadStack;
  readonly outdir: string;
}

const outdirs: string[] = [];

/** Builds the offload stack in an App of its own, writing to a temporary directory. */
export function buildOffloadStack(options: SynthOptions = {}): SynthesizedStack {
  const outdir = mkdtempSync(join(tmpdir(), 'offload-infra-test-'));
  outdirs.push(outdir);
  const app = new App({
    outdir,
    // The built-in CloudFormation validator costs seconds per synth; `cdk synth` still runs it.
    builtinCloudFormationValidation: false,
    context: {
      ...cdkJsonContext,
      // Keeps the real NodejsFunction but skips esbuild.
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...options.context,
    },
  });
  const stack = new OffloadStack(app, 'Offload');
  options.extend?.(app, stack);
  return { app, stack, outdir };
}

/** Synthesizes the offload stack and returns its template. */
export function synthOffloadStack(options: SynthOptions = {}): SynthesizedStack & { readonly template: Template } {
  const built = buildOffloadStack(options);
  return { ...built, template: Template.fromStack(built.stack) };
}

/** Removes every output directory created so far; call it from `afterAll`. */
export function removeSynthOutput(): void {
  for (const outdir of outdirs.splice(0)) rmSync(outdir, { recursive: true, force: true });
}

/**
 * Maps each logical ID of the stack to its construct path without the stack, the `Default` construct
 * (the Offload construct, which logical ids leave out too) and the trailing `/Resource`, e.g.
 * `TaskStore/Table`, so assertions read without hashes.
 */
export function constructPathsByLogicalId(stack: Stack): Map<string, string> {
  const paths = new Map<string, string>();
  for (const construct of stack.node.findAll()) {
    if (!CfnElement.isCfnElement(construct)) continue;
    const path = construct.node.path
      .slice(stack.node.path.length + 1)
      .replace(/^Default\//, '')
      .replace(/\/Resource$/, '');
    paths.set(stack.resolve(construct.logicalId), path);
  }
  return paths;
}

/** The logical ID of the resource at `path` (as returned by {@link constructPathsByLogicalId}). */
export function logicalIdOf(stack: Stack, path: string): string {
  for (const [logicalId, constructPath] of constructPathsByLogicalId(stack)) {
    if (constructPath === path) return logicalId;
  }
  throw new Error(`No resource at ${path}`);
}
