import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { existsSync } from 'fs';
import { extname, join, normalize, resolve, sep } from 'path';
import { CairnError, ERROR_CODES } from '@cairn/domain';

/**
 * Where the console's build lies: `dist/console-web` (vite's output, see console/vite.config.ts).
 * From dist/apps/api/src/console the project's dist folder is four levels up; from the sources
 * (tests under ts-jest) the repository is, and the build is in its dist folder.
 */
export function consoleDir(from = __dirname): string | undefined {
  const up = resolve(from, '../../../..');
  return [join(up, 'console-web'), join(up, 'dist', 'console-web')].find((d) => existsSync(join(d, 'index.html')));
}

/** The page's own files and nothing else: scripts, styles, fonts, images from 'self' only. */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

/** The web console (a static single-page build) at /console; public files, every API call it makes needs a key. */
@ApiExcludeController()
@Controller('console')
export class ConsoleHttpController {
  private readonly dir = consoleDir();

  @Get()
  index(@Res() res: Response): void {
    this.send(res, 'index.html');
  }

  @Get('*path')
  file(@Param('path') path: string | string[], @Res() res: Response): void {
    const rel = Array.isArray(path) ? path.join('/') : path;
    // Hashed asset names under assets/; anything else is a page of the app: its index.
    this.send(res, rel.startsWith('assets/') ? rel : 'index.html');
  }

  private send(res: Response, rel: string): void {
    if (!this.dir) throw new CairnError(ERROR_CODES.NOT_FOUND, 'the console is not built: run npm run build');
    const file = normalize(join(this.dir, rel));
    if (!file.startsWith(this.dir + sep) || !existsSync(file)) throw new CairnError(ERROR_CODES.NOT_FOUND, `no console file '${rel}'`);
    res.setHeader('Content-Security-Policy', CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', extname(file) === '.html' ? 'no-cache' : 'public, max-age=31536000, immutable');
    res.sendFile(file);
  }
}
