/**
 * Every route's scope, read from the controllers' metadata, equals the table in docs/api-keys.md:
 * a new route without a documented scope, or a scope changed without the docs, fails here.
 */
import 'reflect-metadata';
import { readFileSync } from 'fs';
import { join } from 'path';
import { RequestMethod, type Type } from '@nestjs/common';
import { METHOD_METADATA, MODULE_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { AppModule } from '../app.module';
import type { CairnRuntime } from '../runtime';
import { SCOPE_KEY } from './auth.guard';

function routes(): string[] {
  const root = AppModule.register({} as CairnRuntime);
  const modules = (root.imports ?? []) as Type<unknown>[];
  const controllers = [...(root.controllers ?? []), ...modules.flatMap((m) => (Reflect.getMetadata(MODULE_METADATA.CONTROLLERS, m) as Type<unknown>[] | undefined) ?? [])];
  const out: string[] = [];
  for (const c of controllers) {
    const base = String(Reflect.getMetadata(PATH_METADATA, c) ?? '');
    for (const name of Object.getOwnPropertyNames(c.prototype)) {
      const fn = c.prototype[name] as object;
      if (name === 'constructor' || Reflect.getMetadata(METHOD_METADATA, fn) === undefined) continue;
      const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, fn) as number];
      const sub = String(Reflect.getMetadata(PATH_METADATA, fn) ?? '');
      const path = `/${[base, sub].filter((p) => p && p !== '/').join('/')}`.replace(/\/+/g, '/');
      const scope = (Reflect.getMetadata(SCOPE_KEY, fn) ?? Reflect.getMetadata(SCOPE_KEY, c) ?? 'public') as string;
      out.push(`${method} ${path} ${scope}`);
    }
  }
  return out.sort();
}

function documented(): string[] {
  const doc = readFileSync(join(__dirname, '../../../../docs/api-keys.md'), 'utf8');
  const section = doc.split('## Every route and its scope')[1]?.split('\n## ')[0] ?? '';
  return section
    .split('\n')
    .map((l) => /^\|\s*`(GET|POST|PUT|DELETE|PATCH) ([^`]+)`\s*\|\s*`?([a-z:]+)`?\s*\|/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `${m[1]} ${m[2]} ${m[3]}`)
    .sort();
}

describe('route scopes', () => {
  it('match the table in docs/api-keys.md, route by route', () => {
    const doc = documented();
    expect(doc.length).toBeGreaterThan(20);
    expect(routes()).toEqual(doc);
  });

  it('let the ingest scope send events (natively or through the Segment-compatible door) and nothing else', () => {
    expect(routes().filter((r) => r.endsWith(' ingest'))).toEqual(['POST /v1/events ingest', ...['batch', 'identify', 'page', 'track'].map((c) => `POST /v1/segment/${c} ingest`)]);
  });

  it('let the import scope import events and nothing else', () => {
    expect(routes().filter((r) => r.endsWith(' import'))).toEqual(['POST /v1/events/import import']);
  });
});
