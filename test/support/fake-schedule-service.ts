import type { ScheduleDefinition, ScheduleService } from '../../shared/ports.js';

/** ScheduleService that keeps the definitions it was given, as Scheduler would; a failed call changes nothing. */
export class FakeScheduleService implements ScheduleService {
  readonly definitions = new Map<string, ScheduleDefinition>();
  readonly calls: Array<{ readonly method: 'put' | 'delete'; readonly name: string }> = [];
  private readonly failures: unknown[] = [];

  /** The next call throws `error` (queued: call again to fail several in a row). */
  failNext(error: unknown): this {
    this.failures.push(error);
    return this;
  }

  async put(definition: ScheduleDefinition): Promise<void> {
    this.calls.push({ method: 'put', name: definition.name });
    this.throwInjected();
    this.definitions.set(definition.name, structuredClone(definition));
  }

  async delete(name: string): Promise<void> {
    this.calls.push({ method: 'delete', name });
    this.throwInjected();
    this.definitions.delete(name);
  }

  private throwInjected(): void {
    const failure = this.failures.shift();
    if (failure !== undefined) throw failure;
  }
}
