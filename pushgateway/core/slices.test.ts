// Parsing and validating a large push pause between slices, so another request's turn runs before
// they finish; a push smaller than one slice never pauses. Results equal the all-at-once versions.
import { describe, expect, it } from 'vitest';
import { encodeDelimited } from '../../test/support/protobuf-bodies.js';
import { MemoryStore } from '../store/memory.js';
import { decodeDelimitedMetricFamilies, decodeDelimitedMetricFamiliesInSlices } from './protobuf.js';
import { runInSlices, SLICE } from './slices.js';
import { parseTextExposition, parseTextExpositionInSlices } from './text-parser.js';
import { checkAgainstStore, checkAgainstStoreSteps, preparePush, preparePushInSlices } from './validate.js';

function body(series: number): string {
  let text = '# TYPE big gauge\n';
  for (let i = 0; i < series; i++) text += `big{i="${i}"} ${i}\n`;
  return text;
}

/** Whether another turn of the event loop, queued when `work` starts (as an incoming request is), runs before `work` ends. */
async function otherTurnRunsDuring<T>(work: () => Promise<T>): Promise<{ ranDuring: boolean; result: T }> {
  let ran = false;
  const turn = new Promise<void>((resolve) =>
    setImmediate(() => {
      ran = true;
      resolve();
    }),
  );
  const result = await work();
  const ranDuring = ran;
  await turn;
  return { ranDuring, result };
}

describe('work over a large push runs in slices', () => {
  const large = body(3 * SLICE);
  const small = body(SLICE / 4);

  it('text parsing', async () => {
    const sliced = await otherTurnRunsDuring(() => parseTextExpositionInSlices(large));
    expect(sliced.ranDuring).toBe(true);
    expect(sliced.result).toEqual(parseTextExposition(large));
    expect((await otherTurnRunsDuring(() => parseTextExpositionInSlices(small))).ranDuring).toBe(false);
  });

  it('protobuf decoding', async () => {
    // Many small families (the test encoder spreads each message onto the stack, so no single huge one).
    const families = Array.from({ length: 3 * SLICE }, (_, i) => ({
      name: `f${i}`,
      help: undefined,
      type: 'gauge' as const,
      metrics: [{ labels: {}, value: i }],
    }));
    const bytes = encodeDelimited(families);
    const sliced = await otherTurnRunsDuring(() => decodeDelimitedMetricFamiliesInSlices(bytes));
    expect(sliced.ranDuring).toBe(true);
    expect(sliced.result).toEqual(decodeDelimitedMetricFamilies(bytes));
  });

  it('validation on its own', async () => {
    const push = { grouping: { job: 'j' }, families: parseTextExposition(large).families };
    const sliced = await otherTurnRunsDuring(() => preparePushInSlices(push));
    expect(sliced.ranDuring).toBe(true);
    expect(sliced.result).toEqual(preparePush(push));
    const refused = { grouping: { job: 'j' }, families: parseTextExposition(`${large}big{i="0"} 1\n`).families };
    expect(await preparePushInSlices(refused)).toEqual(preparePush(refused));
  });

  it('the checks against the store', async () => {
    const store = new MemoryStore();
    const families = parseTextExposition(large).families;
    await store.apply({
      mode: 'replace',
      grouping: { job: 'other' },
      families: parseTextExposition('# TYPE big gauge\nbig 1\n').families,
      nowMs: 1,
    });
    const prepared = preparePush({ grouping: { job: 'j' }, families });
    if (!prepared.ok) throw new Error(prepared.message);
    const sliced = await otherTurnRunsDuring(() => runInSlices(checkAgainstStoreSteps(prepared.push, 'replace', store)));
    expect(sliced.ranDuring).toBe(true);
    expect(sliced.result).toBeUndefined();
    // A conflict in the last slice is found as by the check at once.
    const conflicting = preparePush({
      grouping: { job: 'j' },
      families: parseTextExposition(`${large}# TYPE clash counter\nclash 1\n`).families,
    });
    if (!conflicting.ok) throw new Error(conflicting.message);
    await store.apply({
      mode: 'replace',
      grouping: { job: 'other' },
      families: parseTextExposition('# TYPE clash gauge\nclash 1\n').families,
      nowMs: 1,
    });
    const refusal = await runInSlices(checkAgainstStoreSteps(conflicting.push, 'replace', store));
    expect(refusal).toContain('"clash" is pushed as counter but is a gauge');
    expect(refusal).toBe(checkAgainstStore(conflicting.push, 'replace', store));
  });
});
