/**
 * The README's "Try it" block, extracted from README.md and run by bash as written (only the key
 * and the port are those of the Cairn this spec starts): each command followed by a `# → STATUS
 * {json}` line must answer that status and a body containing that JSON (`"…"` stands for any
 * value, `[…]` for any array, objects may have more fields). A `VAR=$(…)` line must set VAR.
 * So the README cannot drift from what Cairn answers.
 */
import { execFile } from 'child_process';
import { readFileSync } from 'fs';
import { join } from 'path';
import { startCairn, type TestCairn } from './support/cairn';

interface Step {
  readonly line: number;
  readonly command: string;
  readonly expect?: { status: number; body?: unknown };
}

/** The first ```sh block after the "## Try it" heading, as steps. */
export function readmeSteps(readme: string): Step[] {
  const lines = readme.split('\n');
  const heading = lines.findIndex((l) => l.startsWith('## Try it'));
  const open = lines.findIndex((l, i) => i > heading && l.trim() === '```sh');
  const close = lines.findIndex((l, i) => i > open && l.trim() === '```');
  if (heading < 0 || open < 0 || close < 0) throw new Error('README.md has no ```sh block under "## Try it"');
  const steps: Step[] = [];
  for (let i = open + 1; i < close; i++) {
    const text = lines[i].trim();
    const arrow = /^# → (\d{3})(?: (.*))?$/.exec(text);
    if (arrow) {
      const last = steps.pop();
      if (!last) throw new Error(`README.md line ${i + 1}: "# →" without a command before it`);
      const body = arrow[2] === undefined ? undefined : JSON.parse(arrow[2].replace(/\[…\]/g, '["…"]'));
      steps.push({ ...last, expect: { status: Number(arrow[1]), body } });
      continue;
    }
    if (text === '' || text.startsWith('#')) continue;
    steps.push({ line: i + 1, command: lines[i] });
  }
  return steps;
}

/** `actual` contains `expected`: "…" is any value, ["…"] any array, objects may have more keys. */
function contains(actual: unknown, expected: unknown, path = '$'): string | null {
  if (expected === '…') return actual === undefined ? `${path}: missing` : null;
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${path}: expected an array, got ${JSON.stringify(actual)}`;
    if (expected.length === 1 && expected[0] === '…') return null;
    if (actual.length !== expected.length) return `${path}: expected ${expected.length} elements, got ${actual.length}: ${JSON.stringify(actual)}`;
    for (let i = 0; i < expected.length; i++) {
      const e = contains(actual[i], expected[i], `${path}[${i}]`);
      if (e) return e;
    }
    return null;
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object') return `${path}: expected an object, got ${JSON.stringify(actual)}`;
    for (const [k, v] of Object.entries(expected)) {
      const e = contains((actual as Record<string, unknown>)[k], v, `${path}.${k}`);
      if (e) return e;
    }
    return null;
  }
  return actual === expected ? null : `${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
}

/** The block as one bash script that marks each checked command's answer and each captured variable. */
function script(steps: Step[], cairn: TestCairn): string {
  const port = new URL(cairn.url).port;
  return steps
    .map((s, i) => {
      const command = s.command
        .replace(/^KEY=\S+/, `KEY=${cairn.adminKey}`)
        .replace(/localhost:3000/g, `127.0.0.1:${port}`)
        .replace(/\s+#\s.*$/, '');
      const captured = /^(\w+)=\$\(/.exec(command)?.[1];
      if (captured) return `${command}\necho "@@var ${i} \${${captured}}"`;
      if (!s.expect) return command;
      if (!command.startsWith('curl ')) throw new Error(`README.md line ${s.line}: only curl commands can be checked`);
      // The last -w wins: the status goes after whatever the command prints.
      return `echo "@@step ${i}"\n${command} -w '\\n@@status %{http_code}\\n'`;
    })
    .join('\n');
}

describe('README.md "Try it"', () => {
  let cairn: TestCairn;
  beforeAll(async () => {
    // The README reads its writes with ?minPosition=: a generous wait, for a loaded machine.
    cairn = await startCairn({ env: { CAIRN_READ_WAIT_MS: '30000' } });
  });
  afterAll(async () => cairn?.close());

  it('runs as written and every answer is the one the README shows', async () => {
    const steps = readmeSteps(readFileSync(join(__dirname, '..', 'README.md'), 'utf8'));
    expect(steps.filter((s) => s.expect).length).toBeGreaterThanOrEqual(15);
    const out = await new Promise<string>((resolve, reject) =>
      execFile('bash', ['-c', script(steps, cairn)], { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
        err ? reject(new Error(`the README block failed: ${err.message}\n${stderr}\n${stdout}`)) : resolve(stdout),
      ),
    );
    const failures: string[] = [];
    steps.forEach((s, i) => {
      if (/^(\w+)=\$\(/.test(s.command)) {
        const value = new RegExp(`^@@var ${i} (.*)$`, 'm').exec(out)?.[1] ?? '';
        if (!/^[0-9a-f]+$/.test(value)) failures.push(`README.md line ${s.line}: ${s.command.split('=')[0]} was set to ${JSON.stringify(value)}`);
        return;
      }
      if (!s.expect) return;
      const answer = new RegExp(`^@@step ${i}\\n([\\s\\S]*?)\\n?@@status (\\d{3})$`, 'm').exec(out);
      if (!answer) return void failures.push(`README.md line ${s.line}: no answer in the output`);
      const [, body, status] = answer;
      if (Number(status) !== s.expect.status) return void failures.push(`README.md line ${s.line}: status ${status}, the README says ${s.expect.status}: ${body.slice(0, 300)}`);
      if (s.expect.body === undefined) return;
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        return void failures.push(`README.md line ${s.line}: not JSON: ${body.slice(0, 300)}`);
      }
      const diff = contains(json, s.expect.body);
      if (diff) failures.push(`README.md line ${s.line}: ${diff}`);
    });
    expect(failures).toEqual([]);
  }, 180_000);

  it('the checker itself tells a differing answer apart', () => {
    expect(contains({ a: 1, b: [1, 2] }, { a: 1, b: ['…'] })).toBeNull();
    expect(contains({ a: 1 }, { a: 2 })).toMatch(/\$\.a: expected 2, got 1/);
    expect(contains({ r: [{ s: 'accepted' }] }, { r: [{ s: 'accepted' }, { s: 'rejected' }] })).toMatch(/expected 2 elements/);
    expect(contains({}, { id: '…' })).toMatch(/\$\.id: missing/);
  });
});
