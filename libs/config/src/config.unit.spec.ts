import { CairnError } from '@cairn/domain';
import { corsOriginList, loadClientConfig, loadConfig } from './config';

describe('loadConfig', () => {
  it('applies defaults', () => {
    const c = loadConfig({});
    expect(c.port).toBe(3000);
    expect(c.eventStore).toBeUndefined();
    expect(c.readModelUrl).toMatch(/^sqlite:.*read-models\.sqlite$/);
    // Browsers may send events from anywhere, and reach nothing else unless configured.
    expect(corsOriginList(c.corsIngestOrigins)).toBe(true);
    expect(corsOriginList(c.corsOrigins)).toEqual([]);
  });

  it('reads CORS origin lists', () => {
    const c = loadConfig({ CAIRN_CORS_ORIGINS: 'https://admin.example:8443, http://localhost:5173/', CAIRN_CORS_INGEST_ORIGINS: 'none' });
    expect(corsOriginList(c.corsOrigins)).toEqual(['https://admin.example:8443', 'http://localhost:5173']);
    expect(corsOriginList(c.corsIngestOrigins)).toEqual([]);
  });

  it('reads the environment and lets flags win', () => {
    const c = loadConfig({ PORT: '4000', CAIRN_EVENTSTORE: 'esdb://localhost:2113?tls=false', CAIRN_CURRENCY: 'EUR' }, { port: 5000 });
    expect(c.port).toBe(5000);
    expect(c.eventStore).toBe('esdb://localhost:2113?tls=false');
    expect(c.currency).toBe('EUR');
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ CAIRN_EVENTSTORE: 'http://x' }, 'CAIRN_EVENTSTORE'],
    [{ CAIRN_READ_MODEL: 'mysql://x' }, 'CAIRN_READ_MODEL'],
    [{ CAIRN_ADMIN_KEY: 'short' }, 'CAIRN_ADMIN_KEY'],
    [{ CAIRN_CURRENCY: 'usd' }, 'CAIRN_CURRENCY'],
    [{ CAIRN_TIMEZONE: 'Mars/Olympus' }, 'CAIRN_TIMEZONE'],
    [{ CAIRN_CORS_ORIGINS: 'https://shop.example/path' }, 'CAIRN_CORS_ORIGINS'],
    [{ CAIRN_CORS_ORIGINS: '*,https://a.example' }, 'CAIRN_CORS_ORIGINS'],
    [{ CAIRN_CORS_INGEST_ORIGINS: 'shop.example' }, 'CAIRN_CORS_INGEST_ORIGINS'],
  ])('rejects %j naming %s', (env, setting) => {
    let error: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CairnError);
    expect((error as CairnError).code).toBe('CAIRN.CONFIG');
    expect((error as Error).message).toContain(setting);
  });
});

describe('loadClientConfig', () => {
  it('takes --url/--key over CAIRN_URL/CAIRN_KEY over CAIRN_ADMIN_KEY, and defaults to this machine’s PORT', () => {
    expect(loadClientConfig({})).toEqual({ url: 'http://127.0.0.1:3000' });
    expect(loadClientConfig({ PORT: '4000', CAIRN_ADMIN_KEY: 'admin-admin-admin' })).toEqual({ url: 'http://127.0.0.1:4000', key: 'admin-admin-admin' });
    expect(loadClientConfig({ CAIRN_URL: 'https://cairn.example/base/', CAIRN_KEY: 'k1', CAIRN_ADMIN_KEY: 'k0' })).toEqual({ url: 'https://cairn.example/base', key: 'k1' });
    expect(loadClientConfig({ CAIRN_URL: 'https://cairn.example', CAIRN_KEY: 'k1' }, { url: 'localhost:3001', key: 'k2' })).toEqual({ url: 'http://localhost:3001', key: 'k2' });
  });

  it('understands an address without a scheme as http://', () => {
    expect(loadClientConfig({ CAIRN_URL: 'localhost:3000' }).url).toBe('http://localhost:3000');
    expect(loadClientConfig({ CAIRN_URL: '10.0.0.5' }).url).toBe('http://10.0.0.5');
    expect(loadClientConfig({ CAIRN_URL: '[::1]:3000' }).url).toBe('http://[::1]:3000');
  });

  it('refuses what is not an http(s) address, naming the setting', () => {
    expect(() => loadClientConfig({}, { url: '3000' })).toThrow(/--url: .*a port alone is not an address \(localhost:3000\?\)/);
    expect(() => loadClientConfig({ CAIRN_URL: 'ftp://x' })).toThrow(/CAIRN_URL: .*ftp:\/\/ is not served/);
    expect(() => loadClientConfig({ CAIRN_URL: 'http://a b' })).toThrow(/CAIRN_URL: must be an http\(s\) address/);
    expect(() => loadClientConfig({ CAIRN_URL: 'http://x/?a=1' })).toThrow(/without query/);
    expect(() => loadClientConfig({ PORT: 'eighty' })).toThrow(CairnError);
  });
});
