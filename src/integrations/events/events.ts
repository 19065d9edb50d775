import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { SessionEventSink, type SessionEventName } from '../../core/events.js';

interface Emitter {
  emit(event: string, payload: unknown): unknown;
}

/**
 * Publishes session events through `@nestjs/event-emitter` when the app has it
 * (`EventEmitterModule.forRoot()`); does nothing otherwise. The package is optional:
 * it is looked up at boot, never imported by the module's code.
 * Events are notifications: nothing in the module depends on them.
 */
@Injectable()
export class SessionEvents extends SessionEventSink implements OnApplicationBootstrap {
  private readonly logger = new Logger('SessionModule');
  private emitter: Emitter | undefined;
  private lookup: Promise<boolean> | undefined;

  constructor(private readonly moduleRef: ModuleRef) {
    super();
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.ready();
  }

  /** Looks for the app's EventEmitter2 once; resolves with whether there is one. */
  ready(): Promise<boolean> {
    this.lookup ??= this.findEmitter().then((emitter) => {
      this.emitter = emitter;
      return emitter !== undefined;
    });
    return this.lookup;
  }

  /** Whether the app's EventEmitter2 was found (false until the app has bootstrapped). */
  get listening(): boolean {
    return this.emitter !== undefined;
  }

  emit(event: SessionEventName, payload: unknown): void {
    if (!this.emitter) return;
    try {
      this.emitter.emit(event, payload);
    } catch (err) {
      // A listener's bug must not fail a login or a logout.
      this.logger.error(`A listener of ${event} threw: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private async findEmitter(): Promise<Emitter | undefined> {
    try {
      const { EventEmitter2 } = await import('@nestjs/event-emitter');
      return this.moduleRef.get(EventEmitter2, { strict: false }) as Emitter;
    } catch {
      return undefined; // not installed, or EventEmitterModule not imported
    }
  }
}
