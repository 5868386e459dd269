/** Credentials: plain and scrypt passwords, the defaults, and insecure mode. */
import { scryptSync } from 'crypto';
import { Metadata } from '@grpc/grpc-js';
import { isPrincipal, Security } from './security';
import { Store } from './store';

function basic(user: string, password: string): Metadata {
  const md = new Metadata();
  md.set('authorization', `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`);
  return md;
}

describe('Security', () => {
  const store = new Store();
  afterAll(() => store.close());
  // Made by the one-liner in docs/embedded-node.md for the password 'the password'.
  const documented = 'scrypt$NzIm1Yr4IZ53WXzGT2gLxA==$tp71WJmG/DVbcVff4373DFXY0sb4KcgFouCjU6Yhk2d4l+YnxpawtAGlWWMNGeFDNVNXmLD3TZgBVROVNmwmTg==';

  it('checks plain and scrypt passwords, keeps the default users and lets a users entry change admin', () => {
    const salt = Buffer.from('0123456789abcdef');
    const hash = `scrypt$${salt.toString('base64')}$${scryptSync('s3cret', salt, 64).toString('base64')}`;
    const sec = new Security(true, { alice: { passwordHash: hash, groups: ['readers'] }, bob: { passwordHash: documented }, admin: 'new-one' }, store);
    expect(sec.authenticate(basic('alice', 's3cret'))).toEqual({ name: 'alice', groups: ['readers'], anonymous: false });
    expect(isPrincipal(sec.authenticate(basic('alice', 's3cret!')))).toBe(false);
    expect(isPrincipal(sec.authenticate(basic('bob', 'the password')))).toBe(true);
    expect(sec.authenticate(basic('admin', 'new-one'))).toMatchObject({ name: 'admin', groups: ['$admins'] });
    expect(isPrincipal(sec.authenticate(basic('admin', 'changeit')))).toBe(false);
    expect(sec.authenticate(basic('ops', 'changeit'))).toMatchObject({ name: 'ops', groups: ['$ops'] });
    expect(isPrincipal(sec.authenticate(basic('nobody', 'x')))).toBe(false);
    expect(sec.authenticate(new Metadata())).toMatchObject({ anonymous: true });
  });

  it('lets everyone do everything when insecure', () => {
    const sec = new Security(false, {}, store);
    const p = sec.authenticate(basic('nobody', 'wrong'));
    expect(isPrincipal(p) && sec.allowed(p, '$user-admin', 'r') && sec.allowed(p, '$all', 'r')).toBe(true);
  });
});
