import { Body, Controller, Delete, Param, Post, Req, UseGuards } from '@nestjs/common';
import type { Request } from 'express';
import { SessionAuth, SessionGuard, SessionOps } from '../../src/index.js';

/** Yours (with class-validator decorators in a real app). */
export class AddToCartDto {
  sku!: string;
}

// docs/sessions.md: "Sessions that change after login". test/living-sessions.e2e-spec.ts runs it on Express and Fastify.
@Controller('cart')
@UseGuards(SessionGuard)
export class CartController {
  constructor(private readonly auth: SessionAuth) {}

  @Post()
  async add(@Req() req: Request, @Body() body: AddToCartDto) {
    // Appended by Redis to the cart it holds: concurrent adds all land. update is data only:
    // nothing here can change the session's role or username.
    const updated = await this.auth.update(req, { cart: SessionOps.append(body.sku) });
    return { cart: updated?.data?.cart };
  }

  @Delete(':sku')
  async remove(@Req() req: Request, @Param('sku') sku: string) {
    const updated = await this.auth.update(req, { cart: SessionOps.remove(sku) });
    return { cart: updated?.data?.cart ?? [] };
  }
}
