/**
 * The web console in Debian's headless Chromium (playwright-core, no browser download), against an
 * in-process Cairn holding a small fixture (console/fixture.ts): sign-in (a wrong key is told
 * plainly), every page built renders its table or chart with the numbers the API answers (read
 * back from the DOM), CSV exports equal the API's CSV, keyboard navigation reaches every control.
 * Screenshots of each page go to docs/console/ (shown in docs/console.md).
 */
import { execFileSync } from 'child_process';
import { existsSync, mkdirSync, readFileSync } from 'fs';
import { join, resolve } from 'path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { consoleDir } from '../apps/api/src/console/console.http.controller';
import { startCairn, type TestCairn } from '../test/support/cairn';
import { parse } from 'csv-parse/sync';
import { consoleFixture } from './fixture';
import { topByValue, valueRows } from './src/clv';
import { describeProgram, loyaltyOverview, type LoyaltySummary } from './src/loyalty';
import { changedPeriods } from './src/sizes';
import { addDays, formatChange, formatCount, formatDecimal, formatInstant, formatMoney, formatPercent, previousWindow } from './src/format';
import { OVERVIEW_KPIS } from './src/kpis';
import type { Kpis } from './src/types';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/** Where the screenshots go: docs/console.md shows them. */
const SHOTS = resolve(__dirname, '../docs/console');
const WAIT = { timeout: 20_000 };

let cairn: TestCairn;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let readKey: string;
let position: string;

async function api<T = any>(path: string, init: { method?: string; body?: unknown; accept?: string; key?: string } = {}): Promise<T> {
  const res = await fetch(`${cairn.url}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${init.key ?? cairn.adminKey}`, accept: init.accept ?? 'application/json', ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${await res.text()}`);
  return (init.accept === 'text/csv' ? res.text() : res.json()) as Promise<T>;
}

/** Polls `probe` until it returns a value (not undefined); fails naming `what` after the deadline. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const texts = (selector: string) => page.$$eval(selector, (els) => els.map((e) => (e.textContent ?? '').trim()));

async function open(hash: string, ready: string, fresh = true): Promise<void> {
  await page.evaluate((h) => (location.hash = h), hash);
  await page.waitForSelector(ready, WAIT);
  if (fresh) await page.waitForSelector('[data-testid=freshness] [data-position]', WAIT);
  await page.waitForFunction(() => !document.querySelector('.loading'), undefined, WAIT);
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Every visible control on the page is reached by pressing Tab from the top. */
async function expectTabReachesEveryControl(): Promise<number> {
  const total = await page.evaluate(() => {
    const sel = 'a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea, [tabindex]:not([tabindex="-1"])';
    const controls = [...document.querySelectorAll<HTMLElement>(sel)].filter((e) => e.getClientRects().length > 0);
    controls.forEach((e, i) => e.setAttribute('data-kb', String(i)));
    (document.activeElement as HTMLElement | null)?.blur();
    return controls.length;
  });
  const seen = new Set<string>();
  // A date input takes a Tab stop per field (month, day, year): allow a few presses per control.
  for (let i = 0; i < total * 4 + 10 && seen.size < total; i++) {
    await page.keyboard.press('Tab');
    const id = await page.evaluate(() => document.activeElement?.getAttribute('data-kb') ?? null);
    if (id !== null) seen.add(id);
  }
  const missed = await page.evaluate((got) => [...document.querySelectorAll<HTMLElement>('[data-kb]')].filter((e) => !got.includes(e.getAttribute('data-kb')!)).map((e) => e.outerHTML.slice(0, 120)), [...seen]);
  expect(missed).toEqual([]);
  return total;
}

/**
 * The freshness line shows each projection's checkpoint and lag in events as the API reports them
 * (the lag's seconds move with the clock, so the text is compared with the page's own lag).
 */
async function expectFreshness(): Promise<void> {
  const status = await api<{ projections: { name: string; checkpoint: string; lag: { events: number } }[] }>('/v1/projections');
  const shown = await page.$$eval('[data-testid=freshness] [data-projection]', (els) => els.map((e) => ({ name: e.getAttribute('data-projection')!, position: e.getAttribute('data-position'), lag: Number(e.getAttribute('data-lag')), text: e.textContent })));
  expect(shown.length).toBeGreaterThan(0);
  for (const s of shown) {
    const p = status.projections.find((x) => x.name === s.name)!;
    expect(s.position).toBe(p.checkpoint);
    expect(s.lag).toBe(p.lag.events);
    expect(s.text).toMatch(new RegExp(`^${p.name}: log position ${formatCount(Number(p.checkpoint))}, ${p.lag.events === 0 ? 'up to date' : `${formatCount(p.lag.events)} events? \\(\\d+ s\\) behind`}$`));
  }
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (see .ci/run)`);
  if (!consoleDir(resolve(__dirname, '../apps/api/src/console'))) execFileSync('npm', ['run', '--silent', 'build:console'], { cwd: resolve(__dirname, '..'), stdio: 'pipe' });
  mkdirSync(SHOTS, { recursive: true });
  cairn = await startCairn({ env: { CAIRN_SEGMENT_POLL_MS: '100' } });
  const lines = consoleFixture().map((e) => JSON.stringify(e)).join('\n');
  const res = await fetch(`${cairn.url}/v1/events/import`, { method: 'POST', headers: { authorization: `Bearer ${cairn.adminKey}`, 'content-type': 'application/x-ndjson' }, body: lines });
  const records = (await res.text()).trim().split('\n').map((l) => JSON.parse(l));
  const summary = records[records.length - 1].summary;
  expect(summary).toMatchObject({ rejected: 0 });
  position = summary.position.commit;
  await api(`/v1/customers/c-001?minPosition=${position}`);
  await api('/v1/loyalty/program', { method: 'PUT', body: { effectiveFrom: '2020-01-01T00:00:00Z', program: { currency: 'USD', earn: { pointsPerUnit: 1 }, pendingDays: 14, expiry: { mode: 'fixed', days: 180 }, tiers: { levels: [{ name: 'Bronze', threshold: 0 }, { name: 'Silver', threshold: 150 }] } } } });
  // A redemption, for the Loyalty page's redemptions figure.
  const c002 = await api('/v1/loyalty/c-002');
  expect(c002.balance.available).toBeGreaterThanOrEqual(10);
  await api('/v1/loyalty/c-002/redemptions', { method: 'POST', body: { points: 10, reference: 'console-e2e' } });
  const segment = await api<{ id: string }>('/v1/segments', { method: 'POST', body: { name: 'Repeat buyers', condition: { field: 'orders', op: '>=', value: 2 } } });
  await until('the segment to be evaluated', async () => ((await api(`/v1/segments/${segment.id}`)).evaluated ? true : undefined));
  await api('/v1/rfm/runs', { method: 'POST', body: {} });
  readKey = (await api<{ key: string }>('/v1/admin/keys', { method: 'POST', body: { name: 'analyst', scopes: ['read'] } })).key;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  page = await context.newPage();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await cairn?.close();
});

it('a wrong key is told plainly and nothing is stored', async () => {
  await page.goto(`${cairn.url}/console/`);
  await page.fill('[data-testid=signin-key]', 'cairn_not_a_real_key');
  await page.click('[data-testid=signin-submit]');
  const message = await page.textContent('[data-testid=signin-error]', WAIT);
  expect(message).toContain('This API key was not accepted');
  expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
  await shot('sign-in-wrong-key');
});

it('a read key signs in without the Operations page', async () => {
  await page.fill('[data-testid=signin-key]', readKey);
  await page.click('[data-testid=signin-submit]');
  await page.waitForSelector('[data-testid=nav-overview]', WAIT);
  expect(await texts('nav a')).toEqual(['Overview', 'Customer 360', 'Segments', 'RFM', 'Retention', 'Customer value', 'Loyalty']);
  await page.click('text=Sign out');
  await page.waitForSelector('[data-testid=signin-key]', WAIT);
  expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
});

it('an admin key signs in; the key lives in session storage only', async () => {
  await page.fill('[data-testid=signin-key]', cairn.adminKey);
  await page.click('[data-testid=signin-submit]');
  await page.waitForSelector('[data-testid=nav-operations]', WAIT);
  expect(await page.evaluate(() => Object.values(sessionStorage))).toEqual([cairn.adminKey]);
  expect(await page.evaluate(() => localStorage.length)).toBe(0);
});

it('Overview: each KPI and its change against the previous period equal the API’s', async () => {
  await open('#/overview', '[data-testid=kpi-net] .kpi-value');
  const to = new Date().toISOString().slice(0, 10);
  const from = addDays(to, -89);
  const current = await api<Kpis>(`/v1/metrics/kpis?from=${from}&to=${to}&period=week`);
  const prev = previousWindow(from, to);
  const previous = await api<Kpis>(`/v1/metrics/kpis?from=${prev.from}&to=${prev.to}&period=week`);
  expect(current.netMinor).toBeGreaterThan(0);
  for (const m of OVERVIEW_KPIS) {
    expect(await page.textContent(`[data-testid=kpi-${m.key}] .kpi-value`)).toBe(m.show(m.value(current), current));
    expect(await page.textContent(`[data-testid=kpi-${m.key}] .kpi-change-text`)).toBe(formatChange(m.value(current), m.value(previous)).text);
  }
  expect(await page.textContent('[data-testid=kpi-customers] .kpi-value')).toBe(formatCount(current.customers));
  expect(await page.$$eval('[data-testid=kpis] .spark canvas', (c) => c.length)).toBe(OVERVIEW_KPIS.length);
  await expectFreshness();
  await shot('overview');
  await expectTabReachesEveryControl();
});

it('Retention: the heatmap equals the API grid, unobservable cells hatched, CSV is the grid shown', async () => {
  await open('#/retention', '[data-testid=retention-grid] tbody tr');
  const grid = await api('/v1/metrics/retention?period=month&cohort=first&mode=bounded&returning=purchase&shape=grid');
  const rows = await page.$$eval('[data-testid=retention-grid] tbody tr', (trs) => trs.map((tr) => [...tr.children].map((c) => ({ text: (c.textContent ?? '').trim(), hatched: c.classList.contains('unobservable'), count: c.getAttribute('data-count') }))));
  expect(rows.map((r) => r[0].text)).toEqual(grid.cohorts.map((c: { cohort: string }) => c.cohort));
  grid.cohorts.forEach((c: { size: number; rates: (number | null)[]; counts: (number | null)[] }, i: number) => {
    expect(rows[i][1].text).toBe(formatCount(c.size));
    expect(rows[i].slice(2).map((cell) => cell.text)).toEqual(c.rates.map((r) => (r === null ? '' : formatPercent(r))));
    expect(rows[i].slice(2).map((cell) => cell.hatched)).toEqual(c.rates.map((r) => r === null));
    expect(rows[i].slice(2).map((cell) => cell.count)).toEqual(c.counts.map((n) => (n === null ? '' : String(n))));
  });
  expect(rows.flat().some((c) => c.hatched)).toBe(true);
  await expectFreshness();
  await shot('retention');
  const [download] = await Promise.all([page.waitForEvent('download', WAIT), page.click('[data-testid=retention-csv]')]);
  const csv = readFileSync((await download.path())!, 'utf8');
  expect(csv).toBe(await api('/v1/metrics/retention?period=month&cohort=first&mode=bounded&returning=purchase&shape=grid', { accept: 'text/csv' }));
  expect(csv.split('\r\n')[0]).toBe(`cohort,size,${grid.periods.join(',')}`);
  // Another choice reloads the grid from the API.
  await page.selectOption('[data-testid=retention-period]', 'week');
  const weekly = await api('/v1/metrics/retention?period=week&cohort=first&mode=bounded&returning=purchase&shape=grid');
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=retention-grid] tbody tr').length === n, weekly.cohorts.length, WAIT);
  await page.selectOption('[data-testid=retention-period]', 'month');
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=retention-grid] tbody tr').length === n, grid.cohorts.length, WAIT);
  await expectTabReachesEveryControl();
});

it('RFM: the 5×5 grid is labelled and counted as the API says; a cell opens its members', async () => {
  await open('#/rfm', '[data-testid=rfm-grid] .rfm-cell');
  const rfm = await api('/v1/rfm');
  const cells = await page.$$eval('[data-testid=rfm-grid] .rfm-cell', (bs) => bs.map((b) => ({ r: Number(b.getAttribute('data-r')), f: Number(b.getAttribute('data-f')), count: b.querySelector('.rfm-count')!.textContent, label: b.querySelector('.rfm-label')!.textContent })));
  expect(cells).toHaveLength(25);
  for (const c of cells) expect(c.count).toBe(formatCount(rfm.grid[c.r - 1][c.f - 1]));
  expect(cells.find((c) => c.r === 5 && c.f === 5)!.label).toBe('Champions');
  expect(cells.reduce((s, c) => s + Number(c.count!.replace(/,/g, '')), 0)).toBe(rfm.run.customers);
  const segs = await page.$$eval('[data-testid=rfm-segments] tbody tr', (trs) => trs.map((tr) => [tr.getAttribute('data-segment'), tr.children[1].textContent]));
  expect(segs).toEqual(rfm.segments.map((s: { segment: string; customers: number }) => [s.segment, formatCount(s.customers)]));
  const busiest = rfm.segments.reduce((a: { customers: number }, b: { customers: number }) => (b.customers > a.customers ? b : a));
  await page.click(`[data-testid=rfm-grid] .rfm-cell[data-segment=${busiest.segment}]`);
  await page.waitForSelector('[data-testid=rfm-members] tbody tr', WAIT);
  const members = await api(`/v1/rfm/${busiest.segment}/customers?limit=25&runId=${rfm.run.runId}`);
  expect(await texts('[data-testid=rfm-members] tbody tr td:first-child')).toEqual(members.items.map((m: { customerId: string }) => m.customerId));
  await expectFreshness();
  await shot('rfm');
  const [download] = await Promise.all([page.waitForEvent('download', WAIT), page.click('[data-testid=rfm-csv]')]);
  expect(readFileSync((await download.path())!, 'utf8')).toBe(await api(`/v1/rfm?runId=${rfm.run.runId}`, { accept: 'text/csv' }));
  await expectTabReachesEveryControl();
});

it('Segments: sizes and members as the API says, CSV of every member', async () => {
  await open('#/segments', '[data-testid=segments-table] tbody tr');
  const { items } = await api('/v1/segments');
  expect(await texts('[data-testid=segments-table] [data-field=members]')).toEqual(items.map((s: { members: number }) => formatCount(s.members)));
  await page.click('[data-testid=segments-table] tbody tr button');
  await page.waitForSelector('[data-testid=segment-members] tbody tr', WAIT);
  const members = await api(`/v1/segments/${items[0].id}/members?limit=25`);
  expect(members.items.length).toBeGreaterThan(0);
  expect(await texts('[data-testid=segment-members] tbody tr td:first-child')).toEqual(members.items.map((m: { customerId: string }) => m.customerId));
  const [download] = await Promise.all([page.waitForEvent('download', WAIT), page.click('[data-testid=segment-csv]')]);
  expect(readFileSync((await download.path())!, 'utf8')).toBe(await api(`/v1/segments/${items[0].id}/members`, { accept: 'text/csv' }));
  // Size over time: the periods with an entry or exit, newest first, as GET /v1/segments/:id/sizes says; a chart of every period.
  await page.waitForSelector('[data-testid=segment-sizes-table] tbody tr', WAIT);
  const sizes = await api(`/v1/segments/${items[0].id}/sizes?period=day`);
  expect(sizes.points[sizes.points.length - 1].size).toBe(items[0].members);
  const sizeRows = () => page.$$eval('[data-testid=segment-sizes-table] tbody tr', (trs) => trs.map((tr) => [...tr.children].map((c) => (c.textContent ?? '').trim())));
  expect(await sizeRows()).toEqual(changedPeriods(sizes.points).map((p: { period: string; entries: number; exits: number; size: number }) => [p.period, formatCount(p.entries), formatCount(p.exits), formatCount(p.size)]));
  expect(await page.textContent('[data-field=sizes-members]')).toBe(formatCount(items[0].members));
  expect(await page.$$eval('[data-testid=segment-sizes] canvas', (c) => c.length)).toBe(1);
  await page.selectOption('[data-testid=segment-sizes-period]', 'month');
  const monthly = await api(`/v1/segments/${items[0].id}/sizes?period=month`);
  await page.waitForFunction((first) => document.querySelector('[data-testid=segment-sizes-table] tbody tr')?.getAttribute('data-period') === first, changedPeriods(monthly.points)[0].period, WAIT);
  expect(await sizeRows()).toEqual(changedPeriods(monthly.points).map((p: { period: string; entries: number; exits: number; size: number }) => [p.period, formatCount(p.entries), formatCount(p.exits), formatCount(p.size)]));
  await expectFreshness();
  await shot('segments');
  await expectTabReachesEveryControl();
});

it('Customer value: the fit’s parameters, churn bands and top customers equal the API’s', async () => {
  await open('#/value', '[data-testid=value-top] tbody tr');
  const fit = await api('/v1/metrics/clv');
  for (const k of ['r', 'alpha', 'a', 'b']) expect(await page.textContent(`[data-param="bgnbd.${k}"]`)).toBe(formatDecimal(fit.bgnbd[k], 4));
  expect(await page.textContent('[data-param="bgnbd.logLikelihood"]')).toBe(formatDecimal(fit.bgnbd.logLikelihood, 1));
  expect(await page.textContent('[data-param="totals.predictedClvMinor"]')).toBe(formatMoney(fit.totals.predictedClvMinor, fit.currency));
  for (const b of ['low', 'medium', 'high']) expect(await page.textContent(`[data-band=${b}]`)).toBe(formatCount(fit.churnBands[b]));
  const rows = valueRows(parse(await api('/v1/metrics/clv', { accept: 'text/csv' }), { columns: true }));
  expect(rows).toHaveLength(fit.customers);
  const top = topByValue(rows, 20);
  expect(await texts('[data-testid=value-top] tbody tr td:first-child')).toEqual(top.map((r) => r.customerId));
  expect(await texts('[data-testid=value-top] tbody tr td:last-child')).toEqual(top.map((r) => formatMoney(r.predictedClvMinor, fit.currency)));
  expect(await page.$$eval('[data-testid=value-palive] canvas, [data-testid=value-clv] canvas, [data-testid=value-bands] canvas', (c) => c.length)).toBe(3);
  await expectFreshness();
  await shot('customer-value');
  await expectTabReachesEveryControl();
});

it('Loyalty: members per tier, liability, expiring soon and redemptions equal the members’ ledgers; the program versions', async () => {
  await open('#/loyalty', '[data-testid=loyalty-kpis]');
  const { versions } = await api('/v1/loyalty/program');
  const customers = await api('/v1/customers?limit=500');
  expect(customers.nextCursor).toBeNull();
  // What the page aggregates, asked of the API here: each customer's ledger at the page's instant and 30 days on (404: no loyalty activity).
  const now = Date.parse((await page.getAttribute('[data-testid=loyalty-kpis]', 'data-as-of'))!);
  expect(Number.isFinite(now)).toBe(true);
  const summary = async (id: string, at: number): Promise<LoyaltySummary | null> => {
    const res = await fetch(`${cairn.url}/v1/loyalty/${id}?asOf=${new Date(at).toISOString()}`, { headers: { authorization: `Bearer ${cairn.adminKey}` } });
    return res.status === 404 ? null : res.json();
  };
  const members: LoyaltySummary[] = [];
  const later = new Map<string, LoyaltySummary>();
  for (const c of customers.items as { customerId: string }[]) {
    const s = await summary(c.customerId, now);
    if (!s) continue;
    members.push(s);
    later.set(c.customerId, (await summary(c.customerId, now + 30 * 86_400_000))!);
  }
  const expected = loyaltyOverview(members, later, versions[versions.length - 1].program.tiers.levels);
  expect(expected.members).toBe(41);
  expect(expected.redeemed).toBe(10);
  expect(expected.tiers.map((t) => t.name)).toEqual(['Bronze', 'Silver']);
  for (const f of ['members', 'available', 'pending', 'redeemed', 'expiringSoon'] as const) expect([f, await page.textContent(`[data-testid=loyalty-kpis] [data-field=${f}]`)]).toEqual([f, formatCount(expected[f])]);
  expect(expected.expiringSoon).toBeGreaterThan(0);
  expect(await page.$$eval('[data-testid=loyalty-tiers] tbody tr', (trs) => trs.map((tr) => [tr.getAttribute('data-tier'), tr.children[1]!.textContent]))).toEqual(expected.tiers.map((t) => [t.name, formatCount(t.members)]));
  expect(await texts('[data-testid=loyalty-top] tbody tr td:first-child')).toEqual(expected.topBalances.map((s) => s.customerId));
  expect(await page.$$eval('[data-testid=loyalty-tiers] canvas', (c) => c.length)).toBe(1);
  expect(await texts('[data-testid=loyalty-versions] [data-field=rules]')).toEqual([...versions].reverse().map((v: { program: Parameters<typeof describeProgram>[0] }) => describeProgram(v.program)));
  await expectFreshness();
  await shot('loyalty');
  await expectTabReachesEveryControl();
});

it('Customer 360: profile, identity, loyalty with explain, segments and the paged timeline equal the API', async () => {
  await open('#/customer', '[data-testid=customer-search]', false);
  await page.fill('[data-testid=customer-search]', 'c-001');
  await page.keyboard.press('Enter');
  await page.waitForSelector('[data-testid=customer-timeline] tbody tr', WAIT);
  await page.waitForFunction(() => !document.querySelector('.loading'), undefined, WAIT);
  const p = await api('/v1/customers/c-001');
  const field = (name: string) => page.textContent(`[data-field=${name}]`);
  expect(await field('customerId')).toBe('c-001');
  expect(await field('orders')).toBe(formatCount(p.orders));
  expect(await field('netMinor')).toBe(formatMoney(p.netMinor, p.currency));
  expect(await field('lifecycleStage')).toBe(p.lifecycleStage);
  expect(await field('anonymousIds')).toBe('a-visitor-1');
  const loyalty = await api('/v1/loyalty/c-001');
  expect(await field('available')).toBe(formatCount(loyalty.balance.available));
  expect(await field('pending')).toBe(formatCount(loyalty.balance.pending));
  expect(await field('tier')).toBe(loyalty.tier.name);
  const explain = await api('/v1/loyalty/c-001/explain');
  expect(await page.textContent('[data-testid=customer-explain]')).toContain(explain.tier.summary);
  const ledger = await api('/v1/loyalty/c-001/ledger');
  expect(await page.$$eval('[data-testid=customer-ledger] tbody tr', (r) => r.length)).toBe(ledger.movements.length);
  const segments = await api('/v1/customers/c-001/segments');
  expect(await texts('[data-field=segments] li')).toEqual(segments.items.map((s: { name: string; version: number; since: string }) => `${s.name} (v${s.version}) since ${formatInstant(s.since)}`));
  // Consent per purpose as the API serves it, with each purpose's history.
  expect(Object.keys(p.consent)).toEqual(['analytics', 'email_marketing']);
  const consentRows = await page.$$eval('[data-testid=customer-consent] tbody tr', (trs) =>
    trs.map((tr) => ({ purpose: tr.getAttribute('data-purpose'), status: tr.querySelector('[data-field=status]')!.textContent, history: tr.querySelectorAll('[data-field=history] li').length })),
  );
  expect(consentRows).toEqual(Object.entries(p.consent as Record<string, { status: string; history: unknown[] }>).map(([purpose, c]) => ({ purpose, status: c.status, history: c.history.length })));
  expect(consentRows.find((r) => r.purpose === 'email_marketing')).toEqual({ purpose: 'email_marketing', status: 'withdrawn', history: 2 });
  const events = await api('/v1/customers/c-001/events?limit=20');
  expect(events.streams).toEqual(['customer-c-001', 'visitor-a-visitor-1']);
  const ids = () => page.$$eval('[data-testid=customer-timeline] tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-event-id')));
  expect(await ids()).toEqual(events.items.map((e: { id: string }) => e.id));
  expect(await texts('[data-testid=customer-timeline] tbody tr td:nth-child(4)')).toEqual(events.items.map((e: { position: string }) => formatCount(Number(e.position))));
  await expectFreshness();
  await shot('customer-360');
  await expectTabReachesEveryControl();
});

it('Operations (admin): projections with their state, lag and parked counts; a rebuild started from the page shows progress to the switch', async () => {
  await open('#/operations', '[data-testid=ops-projections] tbody tr');
  const { projections } = await api('/v1/admin/projections');
  const rows = await page.$$eval('[data-testid=ops-projections] tbody tr', (trs) => trs.map((tr) => ({ name: tr.getAttribute('data-projection'), state: tr.querySelector('[data-field=state]')!.textContent, checkpoint: tr.querySelector('[data-field=checkpoint]')!.textContent, parked: tr.querySelector('[data-field=parked]')!.textContent })));
  expect(rows).toEqual(projections.map((p: { name: string; state: string; checkpoint: string; parked: number }) => ({ name: p.name, state: p.state, checkpoint: formatCount(Number(p.checkpoint)), parked: formatCount(p.parked) })));
  expect(await page.textContent('[data-testid=ops-parked]')).toContain('No parked events.');
  await expectFreshness();
  await expectTabReachesEveryControl();
  await page.click('[data-testid=rebuild-loyalty]');
  await page.waitForSelector('[data-testid=rebuild-progress][data-phase=switched]', { timeout: 60_000 });
  const job = await api('/v1/admin/rebuilds/loyalty');
  expect(job.phase).toBe('switched');
  expect(await page.textContent('[data-testid=rebuild-progress]')).toContain(`switched: ${formatCount(job.done)}`);
  await shot('operations');
});

it('Operations (admin): a what-if replay started from the page shows its progress, its summary and the rows that differ, as the API says', async () => {
  await open('#/operations', '[data-testid=replay-form]');
  await page.check('[data-testid=replay-projection-profiles]');
  await page.fill('[data-testid=replay-rules]', '{"currency": "EUR"}');
  await page.click('[data-testid=replay-start]');
  await page.waitForSelector('[data-testid=replay-progress]', WAIT);
  await page.waitForSelector('[data-testid=replay-summary]', { timeout: 60_000 });
  const job = await api(`/v1/admin/replays/${await page.getAttribute('[data-testid=replay-progress]', 'data-replay-id')}`);
  expect(job).toMatchObject({ state: 'done', request: { projections: ['profiles'], rules: { currency: 'EUR' } } });
  const s = job.summary;
  for (const f of ['read', 'included', 'afterAsOf', 'unknownAtKnownAt']) expect([f, await page.textContent(`[data-testid=replay-summary] [data-field="events.${f}"]`)]).toEqual([f, formatCount(s.events[f])]);
  const rows = await page.$$eval('[data-testid=replay-tables] tbody tr', (trs) => trs.map((tr) => [tr.getAttribute('data-table'), ...['rows', 'added', 'removed', 'changed', 'unchanged'].map((f) => tr.querySelector(`[data-field=${f}]`)!.textContent)]));
  expect(rows).toEqual(Object.entries(s.tables as Record<string, { rows: number }>).map(([t, v]) => [t, formatCount(v.rows), ...['added', 'removed', 'changed', 'unchanged'].map((f) => formatCount(s.whatIf.tables[t][f]))]));
  // In EUR, the USD purchases no longer count in the base-currency totals: every buyer's profile changes.
  expect(s.whatIf.tables.profiles.changed).toBeGreaterThanOrEqual(40);
  expect(await page.$$eval('[data-testid=replay-summary] .bars canvas', (c) => c.length)).toBe(1);
  await page.click('[data-testid=replay-show-rows]');
  await page.waitForSelector('[data-testid=replay-rows] [data-table=profiles] tbody tr', WAIT);
  const { files } = await api(`/v1/admin/replays/${job.id}/files`);
  const diff = JSON.parse(files['diff/profiles.json']);
  const shownKeys = await page.$$eval('[data-testid=replay-rows] [data-table=profiles] tbody tr', (trs) => [...new Set(trs.map((tr) => tr.getAttribute('data-key')))]);
  expect(shownKeys).toEqual(diff.changedRows.slice(0, 10).map((r: { key: unknown }) => String(r.key)));
  const cols = await page.$$eval('[data-testid=replay-rows] [data-table=profiles] tbody tr[data-key="c-001"]', (trs) => trs.map((tr) => tr.getAttribute('data-column')));
  expect(cols).toEqual(Object.keys(diff.changedRows.find((r: { key: unknown }) => r.key === 'c-001').columns));
  await shot('operations-replay');
  await expectTabReachesEveryControl();
}, 90_000);

it('Operations (admin): a loyalty what-if started from the page shows the promoted customers, as the replay lists them', async () => {
  await open('#/operations', '[data-testid=replay-form]');
  for (const p of ['profiles', 'analytics', 'voucher-uses']) await page.uncheck(`[data-testid=replay-projection-${p}]`);
  const { versions } = await api('/v1/loyalty/program');
  const live = versions[versions.length - 1].program;
  // "What if Silver started at 1 point?": every Bronze member with a point is promoted.
  const whatIf = { ...live, tiers: { ...live.tiers, levels: live.tiers.levels.map((l: { name: string; threshold: number }) => (l.name === 'Silver' ? { ...l, threshold: 1 } : l)) } };
  await page.check('[data-testid=replay-projection-loyalty]');
  await page.fill('[data-testid=replay-rules]', JSON.stringify({ loyalty: { program: whatIf } }));
  await page.click('[data-testid=replay-start]');
  await page.waitForSelector('[data-testid=whatif-loyalty]', { timeout: 60_000 });
  const id = await page.getAttribute('[data-testid=replay-progress]', 'data-replay-id');
  const { files } = await api(`/v1/admin/replays/${id}/files`);
  const promoted = JSON.parse(files['what-if/loyalty/promoted.json']) as { customerId: string; from: string; to: string }[];
  expect(promoted.length).toBeGreaterThan(0);
  expect(await page.textContent('[data-testid=whatif-loyalty] [data-field=promoted]')).toBe(formatCount(promoted.length));
  const shown = await page.$$eval('[data-testid=whatif-promoted] tbody tr', (trs) => trs.map((tr) => [tr.getAttribute('data-customer'), tr.querySelector('[data-field=from]')!.textContent, tr.querySelector('[data-field=to]')!.textContent]));
  expect(shown).toEqual(promoted.slice(0, 20).map((p) => [p.customerId, p.from, p.to]));
  await shot('operations-what-if');
}, 90_000);
