import type { Session, SessionUser } from '../core/types.js';

/** The body of a successful login. */
export interface LoginResponse {
  /** The user, from the new session: id, username, role and custom data; never a password. */
  user: SessionUser;
  /** The new session. */
  session: Session;
  /** Present when `transport` is `'bearer'` or `'both'`. */
  token?: string;
  /** With `csrf.doubleSubmit`: the value to echo in the CSRF header (also in the `<cookie.name>_csrf` cookie). */
  csrfToken?: string;
}
