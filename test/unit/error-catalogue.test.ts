/** The error catalogue, its documentation, and the pure pieces of auth: roles, scopes, tokens, rates, hosts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CATALOGUE, KairosError, NotFoundError, ValidationError } from '../../src/errors/catalogue.js';
import { classify } from '../../src/api/errors.js';
import { generateToken, hashToken, isWellFormedToken, parseScope, roleAllows } from '../../src/auth/tokens.js';
import { tagsInScope } from '../../src/core/audit.js';
import { RateLimiter } from '../../src/api/rate-limit.js';
import { isLoopbackHostHeader } from '../../src/api/guard.js';
import { requiredRole } from '../../src/api/permissions.js';
import { ROOT } from '../helpers/agent.js';

test('docs/errors.md lists exactly the catalogue, with the same statuses', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8');
  const rows = [...doc.matchAll(/^\| `(KAIROS_[A-Z_]+)` \| (\d+) \|/gm)].map((m) => [m[1], Number(m[2])]);
  assert.deepEqual(rows, Object.entries(ERROR_CATALOGUE).map(([code, e]) => [code, e.status]));
});

test('errors classify to their catalogue code; unknown errors are KAIROS_INTERNAL', () => {
  assert.deepEqual(classify(new ValidationError('name', 'bad')), { code: 'KAIROS_VALIDATION', message: 'bad', field: 'name' });
  assert.equal(new NotFoundError('x').status, 404);
  assert.equal(classify(new KairosError('KAIROS_RATE_LIMITED', 'slow down')).code, 'KAIROS_RATE_LIMITED');
  assert.equal(classify(new SyntaxError('Unexpected token')).code, 'KAIROS_INVALID_JSON');
  assert.equal(classify(Object.assign(new Error('too big'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE' })).code, 'KAIROS_BODY_TOO_LARGE');
  assert.equal(classify(new TypeError('boom')).code, 'KAIROS_INTERNAL');
  assert.equal(classify(Object.assign(new Error('etcd unavailable'), { status: 503, code: 'KAIROS_STORE_UNAVAILABLE' })).code, 'KAIROS_STORE_UNAVAILABLE');
});

test('roles are ordered read < operate < admin; routes default to safe roles', () => {
  assert.equal(roleAllows('admin', 'operate'), true);
  assert.equal(roleAllows('operate', 'admin'), false);
  assert.equal(roleAllows('read', 'read'), true);
  assert.equal(requiredRole('GET', '/v1/some-new-route'), 'read');
  assert.equal(requiredRole('POST', '/v1/some-new-route'), 'admin', 'an unlisted write needs admin');
  assert.equal(requiredRole('GET', '/health'), null);
  assert.equal(requiredRole('GET', '/v1/tokens'), 'admin');
});

test('tokens: 256 random bits, well-formed check, SHA-256 hash', () => {
  const a = generateToken();
  assert.notEqual(a, generateToken());
  assert.equal(isWellFormedToken(a), true);
  assert.equal(isWellFormedToken(`${a}x`), false);
  assert.equal(isWellFormedToken('Bearer'), false);
  assert.match(hashToken(a), /^[0-9a-f]{64}$/);
  assert.equal(hashToken(a).includes(a), false);
});

test('scopes: every scoped tag must be on the job; counts are ignored', () => {
  assert.deepEqual(parseScope(['team=data', 'env=prod']), { team: 'data', env: 'prod' });
  assert.throws(() => parseScope(['team']), /key=value/);
  assert.equal(tagsInScope({ team: 'data:2', env: 'prod' }, { team: 'data' }), true);
  assert.equal(tagsInScope({ team: 'web' }, { team: 'data' }), false);
  assert.equal(tagsInScope(null, { team: 'data' }), false);
  assert.equal(tagsInScope(null, {}), true);
});

test('run rate: a burst of N per minute, then one every 60/N seconds', () => {
  const r = new RateLimiter(2);
  assert.equal(r.take('a', 0), 0);
  assert.equal(r.take('a', 0), 0);
  assert.equal(r.take('a', 0), 30, 'the third waits half a minute');
  assert.equal(r.take('b', 0), 0, 'callers have their own buckets');
  assert.equal(r.take('a', 30_000), 0);
  assert.equal(new RateLimiter(0).take('a', 0), 0, '0 means no limit');
});

test('Host check: only loopback names pass for a loopback agent', () => {
  for (const h of ['127.0.0.1:8080', 'localhost:8080', '[::1]:8080', 'app.localhost', '127.3.2.1', undefined]) assert.equal(isLoopbackHostHeader(h), true, String(h));
  for (const h of ['evil.example:8080', '127.0.0.1.evil.example', '10.0.0.1:8080', 'localhost.evil.example']) assert.equal(isLoopbackHostHeader(h), false, h);
});
