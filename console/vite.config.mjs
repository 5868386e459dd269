// The console's build: `npm run build:console` (part of `npm run build`) writes dist/console-web,
// which the API serves at /console (apps/api/src/console). Every asset comes from this build.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/console/',
  // Preact's automatic JSX runtime (no Babel preset needed).
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/console-web', import.meta.url)),
    emptyOutDir: true,
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 200,
    reportCompressedSize: true,
  },
  logLevel: 'warn',
});
