/** Thrown by `app.init()` when the options cannot work. */
export class SessionOptionsError extends Error {
  /** Every problem found, each a sentence naming the option and what to fix; the message lists them too. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`SessionModule: invalid options:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SessionOptionsError';
    this.problems = problems;
  }
}
