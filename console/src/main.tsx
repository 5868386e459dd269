import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, getJson, session, signInMessage } from './api';
import { Customer } from './pages/customer';
import { Loyalty } from './pages/loyalty';
import { Operations } from './pages/operations';
import { Overview } from './pages/overview';
import { Retention } from './pages/retention';
import { Rfm } from './pages/rfm';
import { Segments } from './pages/segments';
import { Value } from './pages/value';
import './styles.css';

interface Route {
  page: string;
  arg?: string;
}

function parseHash(hash: string): Route {
  const [page, ...rest] = hash.replace(/^#\/?/, '').split('/');
  return { page: page || 'overview', arg: rest.length ? decodeURIComponent(rest.join('/')) : undefined };
}

const PAGES: { id: string; label: string; admin?: boolean }[] = [
  { id: 'overview', label: 'Overview' },
  { id: 'customer', label: 'Customer 360' },
  { id: 'segments', label: 'Segments' },
  { id: 'rfm', label: 'RFM' },
  { id: 'retention', label: 'Retention' },
  { id: 'value', label: 'Customer value' },
  { id: 'loyalty', label: 'Loyalty' },
  { id: 'operations', label: 'Operations', admin: true },
];

/** Which pages a key may open: read (analytics, customers) and, with admin, operations. */
async function probe(key: string): Promise<{ admin: boolean }> {
  await getJson('/v1/projections', key);
  try {
    await getJson('/v1/admin/projections', key);
    return { admin: true };
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) return { admin: false };
    throw e;
  }
}

function SignIn({ onSignedIn, notice }: { onSignedIn: (admin: boolean) => void; notice: string | null }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(notice);
  const [busy, setBusy] = useState(false);
  return (
    <main class="signin">
      <h1>Cairn console</h1>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          try {
            const { admin } = await probe(key.trim());
            session.save(key.trim());
            onSignedIn(admin);
          } catch (err) {
            setError(signInMessage(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <label for="api-key">API key</label>
        <input id="api-key" type="password" autocomplete="off" value={key} onInput={(e) => setKey((e.target as HTMLInputElement).value)} required data-testid="signin-key" />
        <button type="submit" disabled={busy} data-testid="signin-submit">
          Sign in
        </button>
        <p class="note">A key with the read scope shows analytics and customers; an admin key also shows operations. The key stays in this tab's session storage only.</p>
        {error && (
          <p class="error" role="alert" data-testid="signin-error">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}

function App() {
  const [auth, setAuth] = useState<{ admin: boolean } | null | undefined>(undefined);
  const [notice, setNotice] = useState<string | null>(null);
  const [route, setRoute] = useState(parseHash(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  useEffect(() => {
    const key = session.key();
    if (!key) return setAuth(null);
    probe(key).then(setAuth, (err) => {
      session.clear();
      setNotice(signInMessage(err));
      setAuth(null);
    });
  }, []);
  if (auth === undefined) return <p class="loading">Loading…</p>;
  if (auth === null) return <SignIn notice={notice} onSignedIn={(admin) => setAuth({ admin })} />;
  const pages = PAGES.filter((p) => !p.admin || auth.admin);
  const page = pages.some((p) => p.id === route.page) ? route.page : 'overview';
  return (
    <>
      <header class="top">
        <span class="brand">Cairn</span>
        <nav aria-label="Pages">
          {pages.map((p) => (
            <a key={p.id} href={`#/${p.id}`} aria-current={p.id === page ? 'page' : undefined} data-testid={`nav-${p.id}`}>
              {p.label}
            </a>
          ))}
        </nav>
        <button
          type="button"
          class="signout"
          onClick={() => {
            session.clear();
            setNotice(null);
            setAuth(null);
          }}
        >
          Sign out
        </button>
      </header>
      <main id="page" data-page={page}>
        {page === 'overview' && <Overview />}
        {page === 'customer' && <Customer id={route.arg} />}
        {page === 'segments' && <Segments />}
        {page === 'rfm' && <Rfm />}
        {page === 'retention' && <Retention />}
        {page === 'value' && <Value />}
        {page === 'loyalty' && <Loyalty />}
        {page === 'operations' && <Operations />}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
