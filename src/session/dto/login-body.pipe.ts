import { BadRequestException, ValidationPipe, type ArgumentMetadata } from '@nestjs/common';
import { LoginDto } from './login.dto.js';

const POLLUTING_KEYS = ['__proto__', 'constructor', 'prototype'];

/**
 * Validates the login body on its own, so the app needs no global ValidationPipe.
 * `whitelist` cannot see a JSON `__proto__` key (class-transformer assigns it as the
 * prototype, not as a property), so such keys are refused here first.
 */
export class LoginBodyPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
      transform: true,
      validateCustomDecorators: true,
      expectedType: LoginDto,
      validationError: { target: false, value: false },
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (typeof value === 'object' && value !== null) {
      for (const key of POLLUTING_KEYS) {
        if (Object.prototype.hasOwnProperty.call(value, key)) {
          throw new BadRequestException([`property ${key} should not exist`]);
        }
      }
    }
    return super.transform(value, metadata);
  }
}
