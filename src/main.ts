import { createApp } from './app.factory';
import { ConfigError, loadConfig } from './config/config';
import { WorkflowValidationError } from './workflows/workflow-loader';

async function main() {
  const config = loadConfig();
  const app = await createApp({ config });
  app.enableShutdownHooks();
  await app.listen({ port: config.port, host: config.host });
  const url = await app.getUrl();
  console.log(`docket listening on ${url} (store: ${config.store}, data: ${config.dataDir}); API docs at ${url}/docs`);
}

main().catch((e) => {
  // A bad configuration or workflow file stops start-up with its message, not a stack trace.
  if (e instanceof ConfigError || e instanceof WorkflowValidationError) {
    console.error(e.message);
  } else {
    console.error(e);
  }
  process.exit(1);
});
