import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { SessionHealthIndicator } from '../../src/health/index.js';

/**
 * `GET /health` through `SessionHealthIndicator`, as an app would write it (the demo's
 * own carries OpenAPI tags, which would pull @nestjs/swagger into these tests).
 * Needs `TerminusModule` imported and `SessionHealthIndicator` provided.
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly session: SessionHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check([() => this.session.isHealthy('redis')]);
  }
}
