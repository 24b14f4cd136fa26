import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { problemOf, sendProblem, toProblem } from './problem.filter';

/**
 * Errors Fastify answers before any route or filter runs, answered as problem+json with a stable
 * `code` like every other error: a path that cannot be decoded (`/api/campaigns/%FF`,
 * INVALID_URL 400) or a path parameter longer than the router takes (URI_TOO_LONG 414).
 */
export function frameworkErrors(error: Error, request: FastifyRequest, reply: FastifyReply): void {
  sendProblem(reply, toProblem(error, request.url.slice(0, 200)));
}

/**
 * What Node's HTTP parser refuses (malformed framing, headers over the size limit, a request
 * that took too long to arrive) never reaches Fastify's routing; answered on the socket, as
 * problem+json, and the connection closed. A connection reset has no one to answer.
 */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const problem =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? problemOf('REQUEST_TIMEOUT', 'the request did not arrive in time')
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? problemOf('HEADERS_TOO_LARGE', 'the request headers are larger than the server accepts')
        : problemOf('BAD_REQUEST', 'the request is not well-formed HTTP');
  const body = JSON.stringify(problem);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${problem.status} ${problem.title}\r\nContent-Type: application/problem+json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
