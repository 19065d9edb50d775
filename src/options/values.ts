/** A plain object (not null, not an array): what every options section must be. */
export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A bad value as an error message quotes it: JSON where possible, never a throw (cycles), and
 * truthful where JSON is not: `NaN`, `Infinity`, `-Infinity`, `-0` and BigInts (`10n`) as
 * JavaScript writes them, at any depth (JSON would say `null`, `0` or throw), `undefined`, a
 * symbol as `Symbol(description)`, a function as "a function".
 */
export const show = (value: unknown): string => {
  if (typeof value === 'function') return 'a function';
  if (value === undefined) return 'undefined';
  if (typeof value === 'symbol') return value.toString();
  try {
    let ownNul = false;
    const json = JSON.stringify(value, (key: string, item: unknown) => {
      if (key.includes('\u0000') || (typeof item === 'string' && item.includes('\u0000'))) ownNul = true;
      return literal(item);
    });
    // A NUL of the value's own could pass for a mark: then plain JSON, as before.
    return ownNul ? (JSON.stringify(value) ?? json) : json.replace(MARKED, '$1');
  } catch {
    // A cycle: what String() makes of it, as before ('[object Object]' for an object).
    return String(value as unknown);
  }
};

/** The numbers JSON cannot write, marked with NULs as strings for `show` to unquote. */
function literal(item: unknown): unknown {
  if (typeof item === 'bigint') return `\u0000${item}n\u0000`;
  if (typeof item !== 'number') return item;
  if (Object.is(item, -0)) return '\u0000-0\u0000';
  return Number.isFinite(item) ? item : `\u0000${item}\u0000`;
}

/** A marked number as JSON writes it (the NULs escaped): `"\u0000NaN\u0000"`. */
const MARKED = /"\\u0000(NaN|-?Infinity|-0|-?\d+n)\\u0000"/g;
