import 'reflect-metadata';
import { validationPipe } from '../app.module';
import * as campaignDtos from '../campaigns/campaign.dto';
import * as evaluationDtos from '../evaluations/evaluation.dto';
import * as webhookDtos from '../webhooks/webhook.dto';
import { ValidationPipe } from '@nestjs/common';
import { FastValidationPipe } from './fast-validation.pipe';

const pipe = new FastValidationPipe(validationPipe);
const dtos = Object.entries({ ...campaignDtos, ...evaluationDtos, ...webhookDtos }).filter(
  (e): e is [string, new () => object] => typeof e[1] === 'function' && /^[A-Z]/.test(e[0]),
);

/** A small seeded generator (mulberry32): the same bodies on every run. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VALUES: unknown[] = [
  'branch-17', 'rectification-plan', 'approved', 'returned', 'teachers', '第十七党支部整改方案', '', ' ', 'a'.repeat(64), 'a'.repeat(65),
  'x'.repeat(301), 'https://example.org/plan.pdf', 'ftp://example.org/x', 'javascript:alert(1)', '2024-03-01T00:00:00Z', 'not-a-date',
  'Branch_1.a', '-bad', 'advance', 'complete', 0, 1, -1, 2.5, 50, 200, 1e9, Number.NaN, true, false, null, undefined, {}, [], ['a'], { a: 1 },
];

const pick = <T>(r: () => number, xs: readonly T[]) => xs[Math.floor(r() * xs.length)];

async function slow(body: unknown, metatype: new () => object): Promise<{ ok: true; value: unknown } | { ok: false }> {
  try {
    return { ok: true, value: await validationPipe.transform(body, { type: 'body', metatype, data: '' }) };
  } catch (e) {
    if ((e as { code?: string }).code === 'VALIDATION_FAILED') return { ok: false };
    throw e;
  }
}

describe('FastValidationPipe', () => {
  it('gives the answer of the ValidationPipe for every body it accepts, and leaves every other body to it', async () => {
    const r = rng(20261122);
    let fastAccepted = 0;
    let slowAccepted = 0;
    for (const [name, metatype] of dtos) {
      const props = Object.keys(new metatype()).concat(
        ...[validationPipe].map(() => (Reflect.getMetadata('swagger/apiModelPropertiesArray', metatype.prototype) ?? []).map((p: string) => p.replace(/^:/, ''))),
      );
      const keys = [...new Set(props)];
      for (let i = 0; i < 400; i++) {
        const body: Record<string, unknown> = {};
        for (const k of keys) if (r() < 0.8) body[k] = pick(r, VALUES);
        if (r() < 0.05) body[pick(r, ['extra', '__proto__', 'constructor'])] = 'x';
        const fast = pipe.tryFast(body, metatype);
        const expected = await slow(body, metatype);
        if (expected.ok) slowAccepted++;
        if (fast === undefined) continue;
        fastAccepted++;
        expect({ name, body, accepted: expected.ok }).toEqual({ name, body, accepted: true });
        expect(fast).toBeInstanceOf(metatype);
        expect(fast).toEqual((expected as { value: unknown }).value);
      }
    }
    // The fast path is taken, and it is not the only one that accepts.
    expect(fastAccepted).toBeGreaterThan(50);
    expect(slowAccepted).toBeGreaterThanOrEqual(fastAccepted);
  });

  it('takes the fast path for a valid submission', () => {
    const body = { unit: 'branch-17', deliverable: 'rectification-plan', title: '第十七党支部整改方案' };
    const out = pipe.tryFast(body, campaignDtos.SubmitDeliverableDto);
    expect(out).toBeInstanceOf(campaignDtos.SubmitDeliverableDto);
    expect(out).toEqual(body);
  });

  it('leaves a DTO with nested members or conversions to the ValidationPipe', () => {
    const body = { id: 'c1', workflow: 'three-searches', title: 'T', units: [{ id: 'u1', name: 'U' }] };
    expect(pipe.tryFast(body, campaignDtos.LaunchCampaignDto)).toBeUndefined();
  });

  it('leaves a body with an undeclared member to the ValidationPipe, which refuses it', async () => {
    const body = { unit: 'branch-17', deliverable: 'rectification-plan', title: 'T', extra: 1 };
    expect(pipe.tryFast(body, campaignDtos.SubmitDeliverableDto)).toBeUndefined();
    await expect(pipe.transform(body, { type: 'body', metatype: campaignDtos.SubmitDeliverableDto, data: '' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('hands back the parameters the ValidationPipe would leave as they are, without it, and leaves the rest to it', async () => {
    const inner = jest.spyOn(validationPipe, 'transform');
    try {
      const cases: [unknown, Parameters<ValidationPipe['transform']>[1], boolean][] = [
        ['c-17', { type: 'param', metatype: String, data: 'id' }, true],
        [{ authorization: 'Bearer x' }, { type: 'custom', metatype: Object, data: undefined }, true],
        [{ sub: 'a', role: 'bureau' }, { type: 'custom', metatype: Object, data: undefined }, true],
        [{ id: 'c-17' }, { type: 'param', metatype: Object, data: undefined }, true],
        ['17', { type: 'param', metatype: undefined, data: 'n' }, true],
        ['17', { type: 'param', metatype: Number, data: 'n' }, false], // converted to 17
        ['true', { type: 'param', metatype: Boolean, data: 'flag' }, false],
        ['17', { type: 'query', metatype: String, data: 'limit' }, false],
      ];
      for (const [value, meta, direct] of cases) {
        inner.mockClear();
        const fast = await pipe.transform(value, meta);
        expect({ meta, direct: inner.mock.calls.length === 0 }).toEqual({ meta, direct });
        inner.mockClear();
        expect(fast).toEqual(await validationPipe.transform(value, meta));
      }
    } finally {
      inner.mockRestore();
    }
  });
});
