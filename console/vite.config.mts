// The web console's bundle: `npm run build` runs `vite build -c console/vite.config.mts` after the server's tsc.
// The page is served at `/` and its assets under /console/ (src/platform/console/console.module.ts).
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  base: '/console/',
  plugins: [react()],
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    // Vega and Vega-Lite are most of the bundle (~1 MB minified); the charts load with the first view that has one.
    chunkSizeWarningLimit: 2500,
  },
});
