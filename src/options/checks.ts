import { isObject, show } from './values.js';

// The building blocks of validate*.ts: each option is checked by one of these, so its rule
// and the sentence that reports it are written once. The wording of every sentence is pinned
// by the validate*.spec.ts files and the e2e tests: change a word there first.

/**
 * Checks one option and adds a sentence per problem to `problems`. `name` is its path as the
 * sentence shows it (`cookie.name`); `parent` is the object it sits in, for the few rules that
 * read a neighbour. `undefined` means left out (the default applies): every check accepts it
 * but `redis`'s.
 */
export type Check = (value: unknown, name: string, problems: string[], parent: Record<string, unknown>) => void;

/** The checks of an object's keys, run in this order (so their problems are listed in it). */
export type Checks = Readonly<Record<string, Check>>;

/** A check that adds `sentence` when `ok` says no. */
const reportUnless =
  (ok: (value: unknown) => boolean, sentence: (name: string, value: unknown) => string): Check =>
  (value, name, problems) => {
    if (value !== undefined && !ok(value)) problems.push(sentence(name, value));
  };

/** The usual sentence: `` `name` must <rule> (got <value>). `` */
export const must = (ok: (value: unknown) => boolean, rule: string): Check =>
  reportUnless(ok, (name, value) => `\`${name}\` must ${rule} (got ${show(value)}).`);

/** `` `name` must <rule>. ``: for values the sentence cannot usefully show (functions, clients). */
export const needs = (ok: (value: unknown) => boolean, rule: string): Check =>
  reportUnless(ok, (name) => `\`${name}\` must ${rule}.`);

/** Runs every check on the same value, in order. */
export const all =
  (...checks: Check[]): Check =>
  (value, name, problems, parent) => {
    for (const check of checks) check(value, name, problems, parent);
  };

/** Whether `value` is a whole number from `min` to `max`. */
export const isWhole =
  (min: number, max = Number.POSITIVE_INFINITY) =>
  (value: unknown): value is number =>
    typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;

/** A string that `pattern` matches. */
export const fits =
  (pattern: RegExp) =>
  (value: unknown): value is string =>
    typeof value === 'string' && pattern.test(value);

/** `true` or `false`. */
export const bool: Check = must((value) => typeof value === 'boolean', 'be true or false');

/** `'a', 'b' or 'c'`: how a sentence lists the values an option takes. */
export const listed = (values: readonly string[]): string =>
  `${values
    .slice(0, -1)
    .map((value) => `'${value}'`)
    .join(', ')} or '${values.at(-1)}'`;

/** One of `values`. */
export const oneOf = (...values: readonly string[]): Check =>
  must((value) => (values as readonly unknown[]).includes(value), `be ${listed(values)}`);

/** A whole number ≥ `min`; with `max`, from `min` to `max` `unit` (the unit the option is in). */
export function wholeNumber(min: number): Check;
export function wholeNumber(min: number, max: number, unit: string): Check;
export function wholeNumber(min: number, max?: number, unit?: string): Check {
  const range = max === undefined ? `≥ ${min}` : `of ${unit} from ${min} to ${max}`;
  return must(isWhole(min, max), `be a whole number ${range}`);
}

/** A string that `pattern` matches; `rule` says what that is, e.g. "a cookie token such as 'sid'". */
export const matches = (pattern: RegExp, rule: string): Check => must(fits(pattern), `be ${rule}`);

// A lifetime past ten years is no sane number of seconds: the likely mistake is the unit.
const TEN_YEARS_IN_SECONDS = 10 * 365 * 86_400;

/** A duration in whole seconds, greater than 0. */
export const seconds: Check = (value, name, problems) => {
  if (value === undefined) return;
  if (!isWhole(1)(value)) {
    problems.push(`\`${name}\` must be a whole number of seconds greater than 0 (got ${show(value)}).`);
  } else if (value > TEN_YEARS_IN_SECONDS) {
    problems.push(`\`${name}\` must be at most ten years in seconds (got ${value}); is it in milliseconds?`);
  }
};

/** Every key of `given` must be one of `known`: a typo would otherwise be ignored without a word. */
export function knownKeys(given: Record<string, unknown>, known: readonly string[], path: string, problems: string[]): void {
  for (const key of Object.keys(given)) {
    if (!known.includes(key)) problems.push(`unknown option \`${path}${key}\`.`);
  }
}

/** The keys of an object of options: unknown ones first, then each check on its key's value. */
export function fields(checks: Checks, given: Record<string, unknown>, path: string, problems: string[]): void {
  knownKeys(given, Object.keys(checks), path, problems);
  for (const [key, check] of Object.entries(checks)) check(given[key], `${path}${key}`, problems, given);
}

/** How `section` takes the value of a nested object of options. */
interface SectionRules {
  /** Values taken as they are, besides an object (e.g. `false` for "off"). */
  allows?: (value: unknown) => boolean;
  /** What the object must hold besides known keys (e.g. required keys); else `rule` is reported. */
  shape?: (value: Record<string, unknown>) => boolean;
  /** Rules across its keys, after theirs. */
  after?: (given: Record<string, unknown>, problems: string[], parent: Record<string, unknown>) => void;
}

/**
 * A nested object of options (`csrf: { ... }`): anything but an object (or an `allows` value)
 * gets `` `name` must <rule> ``; an object gets `fields`, then `after`.
 */
export function section(rule: string, checks: Checks, { allows, shape, after }: SectionRules = {}): Check {
  return (value, name, problems, parent) => {
    if (value === undefined || allows?.(value)) return;
    if (!isObject(value) || (shape && !shape(value))) {
      problems.push(`\`${name}\` must ${rule} (got ${show(value)}).`);
      return;
    }
    fields(checks, value, `${name}.`, problems);
    after?.(value, problems, parent);
  };
}
