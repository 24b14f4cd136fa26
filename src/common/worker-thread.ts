import { existsSync } from 'node:fs';
import { Worker, WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread on a module of ours, given by its path without the extension.
 *
 * Built (dist/), the thread loads the module's .js. Running from the TypeScript sources (jest,
 * which compiles in its own module system and not for threads), the thread installs a require
 * hook that compiles each .ts file it loads with SWC, with the options jest uses, then loads
 * the module: the thread runs the same code either way. The module and what it imports must be
 * CommonJS-loadable (no Nest: it ships ESM).
 */
export function startWorker(modulePath: string, options: WorkerOptions = {}): Worker {
  if (existsSync(`${modulePath}.js`)) return new Worker(`${modulePath}.js`, options);
  const bootstrap = `
    const Module = require('node:module');
    const { readFileSync } = require('node:fs');
    const { transformSync } = require(${JSON.stringify(require.resolve('@swc/core'))});
    Module._extensions['.ts'] = (module, filename) => {
      const { code } = transformSync(readFileSync(filename, 'utf8'), {
        filename,
        jsc: { parser: { syntax: 'typescript', decorators: true }, transform: { legacyDecorator: true, decoratorMetadata: true }, target: 'es2022' },
        module: { type: 'commonjs' },
        sourceMaps: 'inline',
      });
      module._compile(code, filename);
    };
    require(${JSON.stringify(`${modulePath}.ts`)});`;
  return new Worker(bootstrap, { ...options, eval: true });
}
