// Parsing and validating a large push pause between slices, so another request's turn runs before
// they finish; a push smaller than one slice never pauses. Results equal the all-at-once versions.
import { describe, expect, it } from 'vitest';
import { encodeDelimited } from '../../test/support/protobuf-bodies.js';
import { MemoryStore } from '../store/memory.js';
import { storedFamilySteps } from '../store/stored-family.js';
import { decodeDelimitedMetricFamilies, decodeDelimitedMetricFamiliesInSlices } from './protobuf.js';
import { familyLines } from './scrape-body.js';
import { runInSlices, runToEnd, SLICE, SLICE_BYTES } from './slices.js';
import { decodeTextBody, parseTextBodyInSlices, parseTextExposition, parseTextExpositionInSlices } from './text-parser.js';
import {
  checkAgainstStore,
  checkAgainstStoreSteps,
  preparePush,
  preparePushInSlices,
  utf8ByteLength,
  utf8ByteLengthSteps,
} from './validate.js';

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

  describe('a text body of many SLICE_BYTES, decoded in pieces that end at a newline', () => {
    // Few lines, long ones, with 2-, 3- and 4-byte characters: pieces end wherever a newline falls, so characters
    // of every width sit next to their boundaries. Fewer lines than a SLICE: any pause is the decoding's.
    const value = (i: number) => `é€😀${'x'.repeat(SLICE_BYTES / 3 + i)}`;
    const lines = Array.from({ length: 12 }, (_, i) => `long{v="${value(i)}",i="${i}"} ${i}\n`);
    const encode = (text: string) => new TextEncoder().encode(text);
    const whole = (bytes: Uint8Array) => {
      try {
        return parseTextExposition(decodeTextBody(bytes));
      } catch (error) {
        return error;
      }
    };
    const sliced = (bytes: Uint8Array) => parseTextBodyInSlices(bytes).catch((error: unknown) => error);

    it('parses as the whole text does, pausing between pieces', async () => {
      const bytes = encode(`# TYPE long gauge\n${lines.join('')}`);
      expect(lines.length).toBeLessThan(SLICE);
      const { ranDuring, result } = await otherTurnRunsDuring(() => parseTextBodyInSlices(bytes));
      expect(ranDuring).toBe(true);
      expect(result).toEqual(parseTextExposition(decodeTextBody(bytes)));
      expect(result.families[0]!.metrics.map((metric) => metric.labels.v)).toEqual(lines.map((_, i) => value(i)));
    });

    it.each([
      ['a syntax error in a late piece (its line number)', `${lines.join('')}long{i="x" 1\n`],
      ['no final newline', lines.join('').slice(0, -1)],
      ['a timestamp', `${lines.join('')}late 1 1700000000\n`],
    ])('refuses %s as the whole text does', async (_what, text) => {
      const bytes = encode(text);
      expect(await sliced(bytes)).toEqual(whole(bytes));
    });

    it('finds invalid UTF-8 in a late piece before a syntax error in an early one, as decoding the whole does', async () => {
      const bytes = Uint8Array.from([...encode(`broken{ 1\n${lines.join('')}`), 0xff, 0x0a]);
      const refusal = await sliced(bytes);
      expect(refusal).toEqual(whole(bytes));
      expect(String(refusal)).toContain('the body is not valid UTF-8');
    });
  });

  it('the UTF-8 length of a long text, in slices of SLICE_BYTES characters', async () => {
    // A surrogate pair across the first slice boundary, lone surrogates (3 bytes each, as U+FFFD), 2- and 3-byte characters.
    const text = `${'a'.repeat(SLICE_BYTES - 1)}😀\ud800é€${'b'.repeat(SLICE_BYTES)}\udc00x`;
    const { ranDuring, result } = await otherTurnRunsDuring(() => runInSlices(utf8ByteLengthSteps(text)));
    expect(ranDuring).toBe(true);
    expect(result).toBe(utf8ByteLength(text));
    expect(result).toBe(2 * SLICE_BYTES - 1 + 4 + 3 + 2 + 3 + 3 + 1);
  });

  it("the stored form of a family of several slices: its lines and bytes as the family's whole text", async () => {
    const families = parseTextExposition(body(3 * SLICE + 5)).families;
    const prepared = preparePush({ grouping: { job: 'j' }, families });
    if (!prepared.ok) throw new Error(prepared.message);
    const keyed = prepared.push.families[0]!;
    const { ranDuring, result } = await otherTurnRunsDuring(() => runInSlices(storedFamilySteps(keyed)));
    expect(ranDuring).toBe(true);
    const lines = familyLines(keyed.family, keyed.labelTexts);
    expect(result.lines).toBe(lines);
    expect(result.bytes).toBe(utf8ByteLength(lines));
    expect(result.labelTexts).toEqual(keyed.labelTexts);
    expect(result).toEqual(runToEnd(storedFamilySteps(keyed)));
  });
});
