/** Thrown by `app.init()` when the options cannot work. */
export class SessionOptionsError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`SessionModule: invalid options:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SessionOptionsError';
  }
}
