/**
 * An executor's `executor_config` (dkron's keys, all strings): guided fields for shell and
 * http, key/value rows for the rest (grpc, nats, rabbitmq, plugins) with their known keys
 * suggested. Keys without a field of their own stay editable as rows, so nothing is dropped.
 */
import type { JSX } from 'preact';
import { Check, Field } from './editor-field.js';
import { KeyValues, fromPairs, toPairs, type Pair } from './editor-kv.js';
import { shellOperators } from './editor-model.js';

type Config = Record<string, string>;

interface Props {
  executor: string;
  config: Config;
  setConfig: (c: Config) => void;
}

const SHELL_KEYS = ['command', 'shell', 'env', 'cwd', 'timeout', 'mem_limit'];
const HTTP_KEYS = ['method', 'url', 'headers', 'body', 'timeout', 'expectCode', 'expectBody'];

/** Keys each executor reads beyond its guided fields (README "Executors", docs/plugins.md). */
const MORE_KEYS: Record<string, string[]> = {
  shell: ['su', 'payload'],
  http: ['debug', 'tlsNoVerifyPeer', 'tlsCertificateFile', 'tlsCertificateKeyFile', 'tlsRootCAsFile'],
  grpc: ['url', 'body', 'headers', 'timeout', 'expectCode', 'tlsRootCAsFile', 'debug'],
  nats: ['url', 'subject', 'message', 'userName', 'password', 'timeout', 'debug'],
  rabbitmq: ['url', 'queue.name', 'queue.durable', 'queue.auto_delete', 'queue.exclusive', 'message.body', 'message.base64Body', 'message.content_type', 'message.delivery_mode', 'timeout'],
};

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

/** The config minus `known` keys, as rows; and back. */
function rest(config: Config, known: string[]): Pair[] {
  return toPairs(config).filter(([k]) => !known.includes(k));
}
function withRest(config: Config, known: string[], pairs: Pair[]): Config {
  const kept = Object.fromEntries(Object.entries(config).filter(([k]) => known.includes(k)));
  return { ...kept, ...fromPairs(pairs.filter(([k]) => !known.includes(k))) };
}

/** env "K=V,K2=V2" ↔ rows (dkron's format: a value cannot hold a comma). */
const envPairs = (env: string): Pair[] =>
  env
    .split(',')
    .filter((x) => x.trim() !== '')
    .map((x) => {
      const eq = x.indexOf('=');
      return eq < 0 ? [x, ''] : [x.slice(0, eq), x.slice(eq + 1)];
    });
const envText = (p: Pair[]): string => p.map(([k, v]) => `${k}=${v}`).join(',');

/** headers: a JSON array of "Name: value" ↔ rows; null when the text is not such an array. */
function headerPairs(raw: string): Pair[] | null {
  if (raw.trim() === '') return [];
  try {
    const list = JSON.parse(raw) as unknown;
    if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) return null;
    return (list as string[]).map((h) => {
      const c = h.indexOf(':');
      return c < 0 ? [h, ''] : [h.slice(0, c).trim(), h.slice(c + 1).trim()];
    });
  } catch {
    return null;
  }
}
const headerText = (p: Pair[]): string => (p.length ? JSON.stringify(p.map(([k, v]) => `${k}: ${v}`)) : '');

function Text({ field, label, value, set, hint, placeholder }: { field: string; label: string; value: string; set: (v: string) => void; hint?: string; placeholder?: string }): JSX.Element {
  return (
    <Field field={field} label={label} hint={hint}>
      {(c) => <input {...c} value={value} placeholder={placeholder} autoComplete="off" spellcheck={false} onInput={(ev) => set(ev.currentTarget.value)} />}
    </Field>
  );
}

function ShellFields({ config, setConfig }: Omit<Props, 'executor'>): JSX.Element {
  const set = (k: string, v: string): void => {
    const next = { ...config, [k]: v };
    if (v === '') delete next[k];
    setConfig(next);
  };
  const inShell = config.shell === 'true';
  const ops = inShell ? [] : shellOperators(config.command ?? '');
  return (
    <>
      <Field
        field="executor_config.command"
        label="Command"
        class="wide"
        hint={inShell ? 'Run by /bin/sh -c.' : 'Run directly (split into arguments like a shell would, without one).'}
      >
        {(c) => <textarea {...c} rows={2} value={config.command ?? ''} spellcheck={false} autoCapitalize="off" onInput={(ev) => set('command', ev.currentTarget.value)} />}
      </Field>
      {ops.length ? (
        <div class="shell-hint warn" role="status" id="shell-hint">
          This command uses shell operators (<code>{ops.join(' ')}</code>) but runs without a shell, where they are plain arguments and the job
          would be refused. Turn on "Run in a shell" (or quote them).{' '}
          <button type="button" onClick={() => set('shell', 'true')}>
            Turn on "Run in a shell"
          </button>
        </div>
      ) : null}
      <Check
        field="executor_config.shell"
        label="Run in a shell"
        hint={
          <>
            <code>/bin/sh -c</code>: pipes, redirects, <code>&amp;&amp;</code>, variables.
          </>
        }
        checked={inShell}
        set={(on) => set('shell', on ? 'true' : '')}
      />
      <div class="row3">
        <Text field="executor_config.cwd" label="Working directory" value={config.cwd ?? ''} set={(v) => set('cwd', v)} placeholder="the agent's" />
        <Text field="executor_config.timeout" label="Timeout" value={config.timeout ?? ''} set={(v) => set('timeout', v)} placeholder="e.g. 30s, 5m (none)" />
        <Text field="executor_config.mem_limit" label="Memory limit" value={config.mem_limit ?? ''} set={(v) => set('mem_limit', v)} placeholder="e.g. 512MB (none)" />
      </div>
      <KeyValues noun="variable" legend="Environment" field="executor_config.env" rowField={() => 'executor_config.env'} pairs={envPairs(config.env ?? '')} onChange={(p) => set('env', envText(p))} hint="Added to the agent's environment. Values cannot contain commas." />
    </>
  );
}

function HttpFields({ config, setConfig }: Omit<Props, 'executor'>): JSX.Element {
  const set = (k: string, v: string): void => {
    const next = { ...config, [k]: v };
    if (v === '') delete next[k];
    setConfig(next);
  };
  const headers = headerPairs(config.headers ?? '');
  const method = (config.method ?? '').toUpperCase();
  return (
    <>
      <div class="row-url">
        <Field field="executor_config.method" label="Method">
          {(c) => (
            <select {...c} value={method} onChange={(ev) => set('method', ev.currentTarget.value)}>
              {method === '' || METHODS.includes(method) ? null : <option value={method}>{method}</option>}
              <option value="">Choose…</option>
              {METHODS.map((m) => (
                <option key={m} value={m}>
                  {m}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field field="executor_config.url" label="URL" class="grow">
          {(c) => <input {...c} type="url" value={config.url ?? ''} placeholder="https://example.com/hook" autoComplete="off" onInput={(ev) => set('url', ev.currentTarget.value)} />}
        </Field>
      </div>
      {headers ? (
        <KeyValues noun="header" legend="Headers" field="executor_config.headers" rowField={() => 'executor_config.headers'} pairs={headers} onChange={(p) => set('headers', headerText(p))} />
      ) : (
        <Text field="executor_config.headers" label="Headers (JSON array of &quot;Name: value&quot;)" value={config.headers ?? ''} set={(v) => set('headers', v)} />
      )}
      <Field field="executor_config.body" label="Body" class="wide">
        {(c) => <textarea {...c} rows={3} value={config.body ?? ''} spellcheck={false} onInput={(ev) => set('body', ev.currentTarget.value)} />}
      </Field>
      <div class="row3">
        <Text field="executor_config.timeout" label="Timeout (seconds)" value={config.timeout ?? ''} set={(v) => set('timeout', v)} placeholder="30" />
        <Text field="executor_config.expectCode" label="Expected status" value={config.expectCode ?? ''} set={(v) => set('expectCode', v)} placeholder="any, e.g. 200" />
        <Text field="executor_config.expectBody" label="Expected body (regex)" value={config.expectBody ?? ''} set={(v) => set('expectBody', v)} placeholder="any" />
      </div>
    </>
  );
}

export function ExecutorFields({ executor, config, setConfig }: Props): JSX.Element {
  const guided = executor === 'shell' ? SHELL_KEYS : executor === 'http' ? HTTP_KEYS : [];
  const others = (
    <KeyValues
      key={executor}
      noun="setting"
      legend={guided.length ? 'More settings' : `${executor || 'Executor'} settings`}
      field="executor_config"
      pairs={rest(config, guided)}
      onChange={(p) => setConfig(withRest(config, guided, p))}
      keySuggestions={MORE_KEYS[executor] ?? []}
      multilineValues={!guided.length}
      hint={guided.length ? undefined : "The executor's executor_config keys (see README \"Executors\" and docs/plugins.md)."}
    />
  );
  if (executor === 'shell') {
    return (
      <>
        <ShellFields config={config} setConfig={setConfig} />
        {others}
      </>
    );
  }
  if (executor === 'http') {
    return (
      <>
        <HttpFields config={config} setConfig={setConfig} />
        {others}
      </>
    );
  }
  return others;
}
