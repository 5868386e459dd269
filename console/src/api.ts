/** The console's only way to Cairn: same-origin calls with the API key kept in sessionStorage. */
const KEY = 'cairn.console.key';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields: { field: string; message: string }[] = [],
  ) {
    super(message);
  }
}

export const session = {
  key: (): string | null => sessionStorage.getItem(KEY),
  save: (key: string) => sessionStorage.setItem(KEY, key),
  clear: () => sessionStorage.removeItem(KEY),
};

async function call(path: string, init: { method?: string; body?: unknown; accept?: string; key?: string } = {}): Promise<Response> {
  const key = init.key ?? session.key();
  const headers: Record<string, string> = { accept: init.accept ?? 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method: init.method ?? 'GET', headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  } catch {
    throw new ApiError(0, 'NETWORK', 'Cairn cannot be reached: is it running?');
  }
  if (!res.ok) {
    let body: { error?: { code?: string; message?: string; fields?: { field: string; message: string }[] } } = {};
    try {
      body = await res.json();
    } catch {
      /* not JSON: keep the status */
    }
    throw new ApiError(res.status, body.error?.code ?? `HTTP_${res.status}`, body.error?.message ?? `HTTP ${res.status}`, body.error?.fields ?? []);
  }
  return res;
}

export async function getJson<T>(path: string, key?: string): Promise<T> {
  return (await call(path, { key })).json() as Promise<T>;
}

export async function postJson<T>(path: string, body: unknown = {}): Promise<T> {
  return (await call(path, { method: 'POST', body })).json() as Promise<T>;
}

export async function getCsv(path: string): Promise<string> {
  return (await call(path, { accept: 'text/csv' })).text();
}

/** Query string from the defined values. */
export function qs(params: Record<string, string | number | undefined | null>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** Offers text as a file download (CSV exports). */
export function download(filename: string, text: string, type = 'text/csv'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** What a sign-in failure means for the person at the keyboard. */
export function signInMessage(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 401) return `This API key was not accepted: ${err.message}. Use the key Cairn printed at its first start, or one an admin created for you.`;
    if (err.status === 403) return 'This key works but cannot read analytics: the console needs a key with the read (or admin) scope.';
    if (err.status === 0) return err.message;
    return `Cairn answered ${err.status}: ${err.message}`;
  }
  return String(err);
}

let currency: Promise<string> | undefined;
/** The shop's base currency (CAIRN_CURRENCY), as the KPI answer names it; read once. */
export function shopCurrency(): Promise<string> {
  const day = new Date().toISOString().slice(0, 10);
  currency ??= getJson<{ currency: string }>(`/v1/metrics/kpis${qs({ from: day, to: day })}`).then(
    (k) => k.currency,
    (e) => {
      currency = undefined;
      throw e;
    },
  );
  return currency;
}
