import { isIPv4, isIPv6 } from 'node:net';

/**
 * The address a login throttle counts by: an IPv4 address as it is; an IPv4-mapped IPv6
 * address (`::ffff:203.0.113.7`, how a dual-stack server sees IPv4 clients) as that IPv4
 * address; any other IPv6 address as its /64 (`2001:db8:1:2::/64`), since one subscriber
 * usually holds a whole /64 and could otherwise rotate through 2^64 addresses.
 * Anything else (a proxy's odd `req.ip`) is used as given, cut to 64 characters.
 */
export function ipBucket(ip: string): string {
  if (isIPv4(ip)) return ip;
  const groups = isIPv6(ip) ? ipv6Groups(ip) : null;
  if (!groups) return ip.slice(0, 64);
  const mapped =
    groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 0xffff;
  if (mapped) return `${groups[6]! >> 8}.${groups[6]! & 255}.${groups[7]! >> 8}.${groups[7]! & 255}`;
  return `${groups
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (zone id dropped, embedded IPv4 read). */
function ipv6Groups(address: string): number[] | null {
  const zone = address.indexOf('%');
  let text = (zone === -1 ? address : address.slice(0, zone)).toLowerCase();
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    if (!isIPv4(tail)) return null;
    const [a, b, c, d] = tail.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 0) return null;
  const groups = [...head, ...Array<number>(halves.length === 2 ? missing : 0).fill(0), ...rest];
  return groups.length === 8 && groups.every((group) => Number.isInteger(group) && group >= 0 && group <= 0xffff) ? groups : null;
}

/**
 * The username a throttle counts by: trimmed, Unicode NFKC (full-width and compatibility
 * forms fold to plain ones) and case-folded, so `' ALICE '`, `'ａｌｉｃｅ'` and `'alice'`
 * share one count, as do `'STRASSE'` and `'straße'`. Lower, upper, then lower case again
 * gives JavaScript the full case folding it lacks (ß → SS → ss, ẞ → ß → SS → ss).
 */
export function normalizeUsername(username: string): string {
  return username.trim().normalize('NFKC').toLowerCase().toUpperCase().toLowerCase().normalize('NFKC');
}
