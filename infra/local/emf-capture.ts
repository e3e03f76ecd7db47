/** One metric of an EMF document, with all the values the document carries for it. */
export interface EmfMetric {
  readonly name: string;
  readonly unit: string;
  readonly values: readonly number[];
}

/** A CloudWatch Embedded Metric Format document, reduced to what a dashboard reads. */
export interface EmfEvent {
  readonly timestamp: number;
  readonly namespace: string;
  /** Dimension values by name, for the names the document declares. */
  readonly dimensions: Readonly<Record<string, string>>;
  readonly metrics: readonly EmfMetric[];
}

interface Directive {
  readonly Namespace?: string;
  readonly Dimensions?: ReadonlyArray<readonly string[]>;
  readonly Metrics?: ReadonlyArray<{ readonly Name?: string; readonly Unit?: string }>;
}

interface EmfDocument {
  readonly _aws?: {
    readonly Timestamp?: number;
    readonly CloudWatchMetrics?: readonly Directive[];
  };
  readonly [key: string]: unknown;
}

/** The events of one log line, as CloudWatch Logs extracts them; undefined if the line is not EMF. */
export function parseEmfLine(line: string): EmfEvent[] | undefined {
  if (!line.startsWith('{') || !line.includes('"_aws"')) return undefined;
  let document: EmfDocument;
  try {
    document = JSON.parse(line) as EmfDocument;
  } catch {
    return undefined;
  }
  const directives = document._aws?.CloudWatchMetrics;
  if (!directives || !Array.isArray(directives)) return undefined;
  const timestamp = document._aws?.Timestamp ?? Date.now();
  return directives.map((directive: Directive) => {
    const names = new Set<string>((directive.Dimensions ?? []).flat());
    const dimensions: Record<string, string> = {};
    for (const name of names) {
      const value = document[name];
      if (typeof value === 'string') dimensions[name] = value;
    }
    const metrics = (directive.Metrics ?? []).flatMap(({ Name, Unit }): EmfMetric[] => {
      if (!Name) return [];
      const values = [document[Name]].flat().filter((value): value is number => typeof value === 'number');
      return [{ name: Name, unit: Unit ?? 'None', values }];
    });
    return { timestamp, namespace: directive.Namespace ?? '', dimensions, metrics };
  });
}

type Write = NodeJS.WriteStream['write'];

/**
 * Takes the EMF lines the functions print off `stream` and hands them to `onEvents`, the way the
 * Lambda runtime hands stdout to CloudWatch Logs, which turns EMF lines into metrics. Every other
 * line is written as before. Returns a function that puts the stream back.
 *
 * Patching the stream is the only seam: Powertools Metrics prints with `console.log` (or a Console
 * on process.stdout) and has no option for another sink. It prints each document in one write.
 */
export function captureEmf(
  onEvents: (events: EmfEvent[]) => void,
  stream: NodeJS.WriteStream = process.stdout,
  target: Pick<Console, 'log'> = console,
): () => void {
  // console.log reaches the stream in a plain process, but not where something else owns the console (a test
  // runner prints what it logs itself): a document logged there is taken at the console.
  const originalLog = target.log;
  const log = (...args: unknown[]): void => {
    const events = args.length === 1 && typeof args[0] === 'string' ? parseEmfLine(args[0]) : undefined;
    if (events) onEvents(events);
    else Reflect.apply(originalLog, target, args);
  };
  target.log = log;
  const original = stream.write;
  const write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]): boolean {
    const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : undefined;
    if (text === undefined || !text.includes('"_aws"')) return Reflect.apply(original, this, [chunk, ...rest]);
    const kept = text.split('\n').filter((line) => {
      const events = parseEmfLine(line);
      if (events) onEvents(events);
      return !events;
    });
    const callback = rest.find((arg): arg is () => void => typeof arg === 'function');
    const remaining = kept.join('\n');
    if (remaining.trim() === '') {
      callback?.();
      return true;
    }
    return Reflect.apply(original, this, [remaining, ...rest]);
  } as Write;
  stream.write = write;
  return () => {
    if (stream.write === write) stream.write = original;
    if (target.log === log) target.log = originalLog;
  };
}
