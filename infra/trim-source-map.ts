import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';

/*
 * Cuts a bundle's source maps down to our own sources (infra/bundling.ts), so they are small enough to
 * ship beside the bundle: the full map of a function was larger than the bundle itself.
 */

/** The fields of a Source Map v3 this step reads and writes (see https://tc39.es/ecma426/). */
export interface RawSourceMap {
  readonly version: 3;
  readonly sources: readonly string[];
  readonly names: readonly string[];
  readonly mappings: string;
  readonly sourceRoot?: string;
  readonly sourcesContent?: readonly (string | null)[];
  readonly file?: string;
}

/**
 * Keeps the mappings into the sources `rename` returns a name for (under that name) and drops the rest.
 * Where dropped code starts, a segment without a source marks the position as unmapped: a lookup
 * finds the nearest segment at or before a position, so without the marker a frame in a dependency
 * would be reported at the end of the last function of ours before it on the same (minified) line.
 */
export function trimSourceMap(map: RawSourceMap, rename: (source: string) => string | undefined): RawSourceMap {
  const sourceIndex = new Map<number, number>();
  const sources: string[] = [];
  map.sources.forEach((source, index) => {
    const name = rename(source);
    if (name === undefined) return;
    sourceIndex.set(index, sources.length);
    sources.push(name);
  });
  const nameIndex = new Map<number, number>();
  const names: string[] = [];
  const lines = decodeMappings(map.mappings).map((segments) => {
    const kept: Segment[] = [];
    for (const segment of segments) {
      const source = segment.length >= 4 ? sourceIndex.get(segment[1] as number) : undefined;
      if (source === undefined) {
        const last = kept.at(-1);
        if (last === undefined || last.length > 1) kept.push([segment[0] as number]);
        continue;
      }
      const [column, , line, sourceColumn, name] = segment as [number, number, number, number, number?];
      if (name === undefined) {
        kept.push([column, source, line, sourceColumn]);
        continue;
      }
      let newName = nameIndex.get(name);
      if (newName === undefined) {
        newName = names.length;
        nameIndex.set(name, newName);
        names.push(map.names[name] ?? '');
      }
      kept.push([column, source, line, sourceColumn, newName]);
    }
    return kept;
  });
  // Node's SourceMap reads a source-less segment at the very end of `mappings` as one more mapping of
  // the last source: an empty line after it keeps the marker a marker.
  const endsUnmapped = lines.at(-1)?.at(-1)?.length === 1;
  return { version: 3, sources, names, mappings: `${encodeMappings(lines)}${endsUnmapped ? ';' : ''}` };
}

/** One mapping segment, absolute: [generated column, source, line, column, name?] or just [generated column]. */
export type Segment = readonly number[];

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DIGIT = new Map([...BASE64].map((char, value) => [char, value]));

/** Decodes the `mappings` string (Base64 VLQ, fields relative to the previous segment) into absolute values. */
export function decodeMappings(mappings: string): Segment[][] {
  const previous = [0, 0, 0, 0, 0];
  return mappings.split(';').map((line) => {
    previous[0] = 0;
    if (line === '') return [];
    return line.split(',').map((text) => {
      const segment: number[] = [];
      let value = 0;
      let shift = 0;
      for (const char of text) {
        const digit = DIGIT.get(char);
        if (digit === undefined) throw new Error(`not a Base64 VLQ digit: ${char}`);
        value += (digit & 31) << shift;
        if (digit & 32) {
          shift += 5;
          continue;
        }
        const field = segment.length;
        const delta = value & 1 ? -(value >>> 1) : value >>> 1;
        previous[field] = (previous[field] ?? 0) + delta;
        segment.push(previous[field] as number);
        value = 0;
        shift = 0;
      }
      return segment;
    });
  });
}

/** The inverse of {@link decodeMappings}. */
export function encodeMappings(lines: readonly (readonly Segment[])[]): string {
  const previous = [0, 0, 0, 0, 0];
  return lines
    .map((segments) => {
      previous[0] = 0;
      return segments
        .map((segment) =>
          segment
            .map((value, field) => {
              const delta = value - (previous[field] ?? 0);
              previous[field] = value;
              return vlq(delta);
            })
            .join(''),
        )
        .join(',');
    })
    .join(';');
}

function vlq(value: number): string {
  let rest = value < 0 ? (-value << 1) | 1 : value << 1;
  let text = '';
  do {
    const digit = rest & 31;
    rest >>>= 5;
    text += BASE64[rest > 0 ? digit | 32 : digit];
  } while (rest > 0);
  return text;
}

/**
 * The sources worth a stack frame: files of the projects under `roots` (offload's own, then the
 * task module's) outside their node_modules, named relative to the first root that holds them
 * (`functions/api/routes.ts`), the way a reader finds them in the repository.
 */
export function projectSource(
  mapFile: string,
  roots: string | readonly string[],
): (source: string) => string | undefined {
  return (source) => {
    const file = resolve(dirname(mapFile), source);
    for (const root of typeof roots === 'string' ? [roots] : roots) {
      const path = relative(root, file);
      if (path === '' || path.startsWith('..') || isAbsolute(path)) continue;
      if (path.split(sep).includes('node_modules')) continue;
      return path.split(sep).join('/');
    }
    return undefined;
  };
}
