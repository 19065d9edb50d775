import { all, bool, fits, matches, must, oneOf, section, type Check } from './checks.js';
import { SESSION_DEFAULTS as D } from './defaults.js';
import type { SessionCookieOptions } from './types.js';

// RFC 6265 cookie-name: an RFC 7230 token.
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}$/;
// No ';' (it would end the attribute), no spaces or controls.
const COOKIE_PATH = /^\/[\x21-\x3a\x3c-\x7e]*$/;
const COOKIE_DOMAIN = /^\.?[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Browsers reject a SameSite=None cookie without Secure: it would never be sent. */
const noneNeedsSecure: Check = (sameSite, _name, problems, cookie) => {
  if (sameSite === 'none' && cookie.secure === false) {
    problems.push(
      "`cookie.sameSite: 'none'` requires `cookie.secure: true`: browsers reject SameSite=None cookies without Secure.",
    );
  }
};

/** Browsers drop prefixed cookies that break the prefix's rules: refuse them at boot instead. */
function prefixRules(cookie: Record<string, unknown>, problems: string[]): void {
  const name = typeof cookie.name === 'string' ? cookie.name : '';
  if (cookie.hostPrefix === true || name.startsWith('__Host-')) {
    if (cookie.secure === false) problems.push('a `__Host-` cookie must be Secure: remove `cookie.secure: false`.');
    if (cookie.domain !== undefined) problems.push('a `__Host-` cookie cannot have a Domain: remove `cookie.domain`.');
    if (cookie.path !== undefined && cookie.path !== '/')
      problems.push('a `__Host-` cookie must have Path=/: remove `cookie.path`.');
  }
  if (name.startsWith('__Secure-') && cookie.secure === false) {
    problems.push('a `__Secure-` cookie must be Secure: remove `cookie.secure: false`.');
  }
  if (cookie.hostPrefix === true && name.startsWith('__')) {
    problems.push(
      `with \`cookie.hostPrefix: true\`, give \`cookie.name\` without a prefix (e.g. '${D.cookie.name}'): it becomes '__Host-${D.cookie.name}'.`,
    );
  }
}

const COOKIE_CHECKS = {
  name: matches(COOKIE_NAME, `a cookie token such as '${D.cookie.name}'`),
  secure: bool,
  persistent: bool,
  sameSite: all(oneOf('lax', 'strict', 'none'), noneNeedsSecure),
  path: must(fits(COOKIE_PATH), "start with '/' and hold no ';' or spaces"),
  domain: matches(COOKIE_DOMAIN, "a host name such as 'example.com'"),
  hostPrefix: bool,
} satisfies Record<keyof SessionCookieOptions, Check>;

/** `cookie`, including the rules browsers enforce on `__Host-` and `__Secure-` cookies. */
export const cookie = section('be an object', COOKIE_CHECKS, { after: prefixRules });
