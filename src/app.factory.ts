import 'reflect-metadata';
import { LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { randomUUID } from 'node:crypto';
import { clientErrorHandler, frameworkErrors } from './common/framework-errors';
import { parseJsonBody } from './common/json-body';
import { AppModule, AppOptions } from './app.module';
import { loadWorkflowsDir } from './workflows/workflow-loader';
import { WorkflowRegistry } from './workflows/workflow.registry';
import { Metrics } from './metrics/metrics';
import { authenticateOnArrival, JWT_CODEC } from './auth/auth.guard';
import type { JwtCodec } from './auth/jwt';

const LEVELS: Record<string, LogLevel[] | false> = {
  silent: false,
  error: ['fatal', 'error'],
  warn: ['fatal', 'error', 'warn'],
  info: ['fatal', 'error', 'warn', 'log'],
  debug: ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'],
};

/** The configured application (Fastify, problem+json everywhere, OpenAPI at /docs), initialised but not listening. */
export async function createApp(options: AppOptions): Promise<NestFastifyApplication> {
  // Workflows are validated before Nest starts, so a bad file stops start-up with its message alone.
  const workflows = options.workflows ?? new WorkflowRegistry(loadWorkflowsDir(options.config.workflowsDir));
  const adapter = new FastifyAdapter({
    bodyLimit: options.config.bodyLimit,
    genReqId: () => randomUUID(),
    // Refused before any route runs: problem+json like every other error.
    frameworkErrors,
    clientErrorHandler,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot({ ...options, workflows }), adapter, {
    logger: LEVELS[options.config.logLevel] ?? LEVELS.info,
    abortOnError: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  const metrics = app.get(Metrics);
  fastify.addHook('onRoute', authenticateOnArrival(app.get<JwtCodec>(JWT_CODEC)));
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions?.url ?? 'unmatched';
    metrics.httpDuration.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    done();
  });
  const doc = new DocumentBuilder()
    .setTitle('Docket')
    .setDescription(
      'Event-sourced workflow engine for the campaigns an education bureau runs. Errors are RFC 9457 problem+json with a stable `code`.',
    )
    .setVersion('0.1.0')
    .addBearerAuth()
    .build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, doc), { jsonDocumentUrl: 'docs-json' });
  await app.init();
  // JSON bodies are read by the service's own parser (after init, where Nest registers its own):
  // the same rules as Fastify's, with an answer that says which one a body broke.
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: options.config.bodyLimit }, parseJsonBody);
  await fastify.ready();
  return app;
}
