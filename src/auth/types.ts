import type { Session, SessionUser } from '../core/types.js';

/** The body of a successful login. */
export interface LoginResponse {
  user: SessionUser;
  session: Session;
  /** Present when `transport` is `'bearer'` or `'both'`. */
  token?: string;
  /** With `csrf.doubleSubmit`: the value to echo in the CSRF header (also in the `<cookie.name>_csrf` cookie). */
  csrfToken?: string;
}
