import { describe, expect, it } from '@jest/globals';
import type { ExecutionContext } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { gatewayContext } from './gateway.js';
import { restContext } from './rest.js';

describe('where the adapters find the request', () => {
  const request = { method: 'GET', headers: {} };
  const response = { statusCode: 200 };
  const socket = { handshake: { headers: { cookie: 'sid=x' }, address: '127.0.0.1' } };

  it("reads Nest's own context by argument index (REST: request, response; gateway: the socket)", () => {
    const http = new ExecutionContextHost([request, response, () => undefined]);
    expect(restContext.request(http)).toBe(request);
    expect(restContext.holder(http)).toBe(request);
    expect(restContext.response(http)).toBe(response);
    const ws = new ExecutionContextHost([socket, { text: 'hi' }, 'message']);
    ws.setType('ws');
    expect(gatewayContext.request(ws)?.headers).toEqual({ cookie: 'sid=x' });
    expect(gatewayContext.holder(ws)).toBe(socket);
  });

  it('still works with a hand-written test double that only has switchToHttp() or switchToWs()', () => {
    const http = {
      switchToHttp: () => ({ getRequest: () => request, getResponse: () => response }),
    } as unknown as ExecutionContext;
    expect(restContext.request(http)).toBe(request);
    expect(restContext.response(http)).toBe(response);
    const ws = { switchToWs: () => ({ getClient: () => socket }) } as unknown as ExecutionContext;
    expect(gatewayContext.holder(ws)).toBe(socket);
    expect(gatewayContext.request(ws)?.headers).toEqual({ cookie: 'sid=x' });
  });
});
