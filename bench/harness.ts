import { mkdirSync, readdirSync, writeFileSync } from 'fs';
import { join } from 'path';

/** One measured figure. `ratio` is against a baseline measured in the same run, when there is one. */
export interface BenchFigure {
  name: string;
  value: number;
  unit: string;
  baseline?: { name: string; value: number };
  ratio?: number;
  goal?: string;
  pass?: boolean;
}

/** A suite lives in bench/<name>.bench.ts and exports `run`. */
export type BenchSuite = (log: (line: string) => void) => Promise<BenchFigure[]>;

export function ratio(
  name: string,
  value: number,
  unit: string,
  baseline: { name: string; value: number },
  goal?: { atLeast?: number; atMost?: number },
): BenchFigure {
  const r = baseline.value === 0 ? 0 : value / baseline.value;
  const pass = goal === undefined ? undefined : (goal.atLeast === undefined || r >= goal.atLeast) && (goal.atMost === undefined || r <= goal.atMost);
  const goalText = goal === undefined ? undefined : goal.atLeast !== undefined ? `ratio >= ${goal.atLeast}` : `ratio <= ${goal.atMost}`;
  return { name, value, unit, baseline, ratio: r, goal: goalText, pass };
}

export function figure(name: string, value: number, unit: string, goal?: { atLeast?: number; atMost?: number }): BenchFigure {
  const pass = goal === undefined ? undefined : (goal.atLeast === undefined || value >= goal.atLeast) && (goal.atMost === undefined || value <= goal.atMost);
  const goalText = goal === undefined ? undefined : goal.atLeast !== undefined ? `>= ${goal.atLeast} ${unit}` : `<= ${goal.atMost} ${unit}`;
  return { name, value, unit, goal: goalText, pass };
}

function fmt(n: number): string {
  return Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2);
}

function printTable(suite: string, figures: BenchFigure[]): void {
  const rows = figures.map((f) => [
    f.name,
    `${fmt(f.value)} ${f.unit}`,
    f.baseline ? `${f.baseline.name}: ${fmt(f.baseline.value)} ${f.unit}` : '',
    f.ratio !== undefined ? f.ratio.toFixed(2) : '',
    f.goal ?? '',
    f.pass === undefined ? '' : f.pass ? 'ok' : 'MISSED',
  ]);
  const head = ['figure', 'value', 'baseline (same run)', 'ratio', 'goal', ''];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join(' | ');
  process.stdout.write(`\n== ${suite} ==\n${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('-|-')}\n`);
  for (const r of rows) process.stdout.write(`${line(r)}\n`);
}

export async function runBenchmarks(only: string[]): Promise<void> {
  const dir = __dirname;
  const suites = readdirSync(dir)
    .filter((f) => f.endsWith('.bench.js'))
    .map((f) => f.replace(/\.bench\.js$/, ''))
    .filter((name) => only.length === 0 || only.includes(name));
  if (suites.length === 0) throw new Error(`no benchmark suite matches ${only.join(', ')}`);
  const outDir = join(process.cwd(), '.bench');
  mkdirSync(outDir, { recursive: true });
  for (const name of suites) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(join(dir, `${name}.bench.js`)) as { run: BenchSuite };
    const started = Date.now();
    const figures = await mod.run((l) => process.stdout.write(`[${name}] ${l}\n`));
    printTable(name, figures);
    const file = join(outDir, `${name}.json`);
    writeFileSync(file, JSON.stringify({ suite: name, at: new Date().toISOString(), seconds: (Date.now() - started) / 1000, figures }, null, 2));
    process.stdout.write(`saved ${file}\n`);
  }
}
