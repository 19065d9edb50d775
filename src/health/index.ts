// nestjs-redis-session/health: the @nestjs/terminus health indicator. A separate entry
// point, so that only apps that import it load @nestjs/terminus (an optional peer dependency).
export { SessionHealthIndicator, type SessionHealthCheckOptions } from './indicator.js';
