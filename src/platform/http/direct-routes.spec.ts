import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import 'reflect-metadata';
import { Body, Headers, Param, ParseIntPipe, Post, Query, Req, Res } from '@nestjs/common';
import { argumentPlan, routeParams } from './direct-routes';

class Handlers {
  @Post(':name')
  known(
    @Param('name') _name: string,
    @Query('v') _v: string | undefined,
    @Body() _body: unknown,
    @Req() _req: unknown,
    @Res({ passthrough: true }) _res: unknown,
  ) {}

  @Post('headers')
  headers(@Headers('x-a') _a: string) {}

  @Post('piped')
  piped(@Param('id', ParseIntPipe) _id: number) {}

  @Post('own-answer')
  ownAnswer(@Res() _res: unknown) {}
}

describe('direct routes: the handler arguments', () => {
  it('reads @Param, @Query, @Body (through the global pipe, with their metatypes), @Req and a passthrough @Res', () => {
    const plan = argumentPlan(Handlers, 'known');
    assert.deepEqual(
      plan.args.map((a) => a.pipe && { type: a.pipe.type, data: a.pipe.data, metatype: a.pipe.metatype?.name }),
      [
        { type: 'param', data: 'name', metatype: 'String' },
        { type: 'query', data: 'v', metatype: 'Object' }, // TypeScript writes Object for `string | undefined`
        { type: 'body', data: undefined, metatype: 'Object' },
        undefined,
        undefined,
      ],
    );
    const request = { params: { name: 'm' }, query: { v: '2' }, body: { a: 1 } };
    const reply = {};
    assert.deepEqual(
      plan.args.map((a) => a.read(request as never, reply as never)),
      ['m', '2', { a: 1 }, request, reply],
    );
    assert.equal(plan.sendsItself, false);
  });

  it('a handler that sends its own answer (@Res() without passthrough) is left to send it', () => {
    assert.equal(argumentPlan(Handlers, 'ownAnswer').sendsItself, true);
  });

  it('refuses to start on what Nest would run and a direct route would not (other decorators, parameter pipes)', () => {
    assert.throws(() => argumentPlan(Handlers, 'headers'), /Handlers\.headers argument 0: parameter decorator HEADERS is not supported/);
    assert.throws(() => argumentPlan(Handlers, 'piped'), /Handlers\.piped argument 0: parameter pipes are not supported/);
  });
});

describe('direct routes: the parameters a matched-empty check looks at', () => {
  it('are the named parameters of the path, in order, and never the wildcard', () => {
    assert.deepEqual(routeParams('/v2/models/:name/versions/:version/infer'), ['name', 'version']);
    assert.deepEqual(routeParams('/api/models/:name/predict'), ['name']);
    assert.deepEqual(routeParams('/v1/*'), []);
    assert.deepEqual(routeParams('/v2'), []);
  });
});
