import type { Redis } from 'ioredis';
import type { SessionService } from '../core/service.js';
import type { SessionStore } from '../core/store.js';

/** What a command works with: the library's own service and key names, and the connection. */
export interface CommandContext {
  service: SessionService;
  /** Only for key names (`sessionKey`, `indexKey`): the layout stays the library's. */
  store: SessionStore;
  client: Redis;
  prefix: string;
  json: boolean;
}

export interface CommandOutput {
  exitCode: number;
  stdout: string;
  stderr: string;
}
