/**
 * A documented subset of Go's text/template, enough for dkron's notification
 * payloads (docs/decisions.md says why not a library):
 *
 * - fields of the data: `{{.JobName}}` (unknown fields are refused when compiled), and `{{.}}`;
 * - `{{if PIPELINE}} … {{else if PIPELINE}} … {{else}} … {{end}}`;
 * - pipelines with `|` and the functions printf (%s %v %q %d %t %%), print, js, html, urlquery,
 *   len, not, eq, ne, and, or;
 * - string (`"…"`, `` `…` ``), number and true/false literals; comments `{{/* … *\/}}`;
 *   trim markers `{{- ` and ` -}}`.
 *
 * Anything else (range, with, define, template, block, variables, parentheses)
 * is refused by `compileTemplate` with an error naming the construct, so a bad
 * template stops the agent at start instead of at the first notification.
 * Values print as Go prints them: a `GoTime` as time.Time's String().
 */

export class TemplateError extends Error {}

/** A time printed like Go's time.Time String() (UTC): `2006-01-02 15:04:05.999999999 +0000 UTC`. */
export class GoTime {
  constructor(readonly date: Date) {}
  toString(): string {
    return goTimeString(this.date);
  }
}

export function goTimeString(d: Date): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const ms = d.getUTCMilliseconds();
  const frac = ms === 0 ? '' : `.${p(ms, 3).replace(/0+$/, '')}`;
  return `${p(d.getUTCFullYear(), 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}${frac} +0000 UTC`;
}

type Value = string | number | boolean | GoTime | null;
export type TemplateData = Record<string, Value>;

type Arg = { k: 'field'; name: string } | { k: 'dot' } | { k: 'lit'; v: Value } | { k: 'ident'; name: string };
type Command = Arg[];
type Pipeline = Command[];
type Node =
  | { k: 'text'; s: string }
  | { k: 'out'; pipe: Pipeline }
  | { k: 'if'; branches: { pipe: Pipeline; body: Node[] }[]; otherwise: Node[] | null };

const FUNCS = new Set(['printf', 'print', 'println', 'js', 'html', 'urlquery', 'len', 'not', 'eq', 'ne', 'and', 'or']);
const UNSUPPORTED = new Set(['range', 'with', 'define', 'template', 'block', 'break', 'continue', 'call', 'index', 'slice', 'lt', 'le', 'gt', 'ge', 'nil']);

export interface CompiledTemplate {
  render(data: TemplateData): string;
}

/** Parses `source`; throws TemplateError naming the unsupported construct or unknown field. */
export function compileTemplate(source: string, fields: readonly string[]): CompiledTemplate {
  const known = new Set(fields);
  const actions = lex(source);
  let pos = 0;
  const parseList = (stopAt: Set<string>): { nodes: Node[]; stop: string | null } => {
    const nodes: Node[] = [];
    while (pos < actions.length) {
      const a = actions[pos++] as Piece;
      if (a.kind === 'text') {
        nodes.push({ k: 'text', s: a.s });
        continue;
      }
      const body = a.s;
      if (body.startsWith('/*')) continue;
      const word = /^[A-Za-z]+/.exec(body)?.[0] ?? '';
      if (word === 'end' || word === 'else') {
        if (!stopAt.has(word)) throw new TemplateError(`unexpected {{${word}}}`);
        pos--;
        return { nodes, stop: word };
      }
      if (word === 'if') {
        const branches: { pipe: Pipeline; body: Node[] }[] = [];
        let cond = body.slice(2);
        let otherwise: Node[] | null = null;
        for (;;) {
          const pipe = parsePipeline(cond, known);
          const inner = parseList(new Set(['end', 'else']));
          branches.push({ pipe, body: inner.nodes });
          if (inner.stop === null) throw new TemplateError('unclosed {{if}}: missing {{end}}');
          const closing = (actions[pos++] as Piece).s;
          if (inner.stop === 'end') break;
          const rest = closing.slice(4).trim();
          if (rest.startsWith('if ') || rest.startsWith('if\t')) {
            cond = rest.slice(2);
            continue;
          }
          if (rest !== '') throw new TemplateError(`unsupported template construct "else ${rest}"`);
          const tail = parseList(new Set(['end']));
          if (tail.stop === null) throw new TemplateError('unclosed {{if}}: missing {{end}}');
          pos++;
          otherwise = tail.nodes;
          break;
        }
        nodes.push({ k: 'if', branches, otherwise });
        continue;
      }
      nodes.push({ k: 'out', pipe: parsePipeline(body, known) });
    }
    return { nodes, stop: null };
  };
  const { nodes, stop } = parseList(new Set());
  if (stop !== null) throw new TemplateError(`unexpected {{${stop}}}`);
  return { render: (data) => renderNodes(nodes, data) };
}

interface Piece {
  kind: 'text' | 'action';
  s: string;
}

function lex(source: string): Piece[] {
  const out: Piece[] = [];
  let i = 0;
  let trimNext = false;
  while (i < source.length) {
    const open = source.indexOf('{{', i);
    let text = open === -1 ? source.slice(i) : source.slice(i, open);
    if (trimNext) text = text.replace(/^\s+/, '');
    trimNext = false;
    if (open === -1) {
      if (text) out.push({ kind: 'text', s: text });
      break;
    }
    let start = open + 2;
    if (source.startsWith('- ', start) || source.startsWith('-\t', start) || source.startsWith('-\n', start)) {
      text = text.replace(/\s+$/, '');
      start += 1;
    }
    if (text) out.push({ kind: 'text', s: text });
    const close = findClose(source, start);
    if (close === -1) throw new TemplateError('unclosed action: missing }}');
    let inner = source.slice(start, close);
    if (/\s-$/.test(inner)) {
      inner = inner.slice(0, -1);
      trimNext = true;
    }
    out.push({ kind: 'action', s: inner.trim() });
    i = close + 2;
  }
  return out;
}

/** The `}}` closing an action, skipping quoted strings. */
function findClose(s: string, from: number): number {
  let q: string | null = null;
  for (let i = from; i < s.length; i++) {
    const c = s[i];
    if (q) {
      if (c === '\\' && q === '"') i++;
      else if (c === q) q = null;
    } else if (c === '"' || c === '`') q = c;
    else if (c === '}' && s[i + 1] === '}') return i;
  }
  return -1;
}

function parsePipeline(src: string, known: Set<string>): Pipeline {
  const tokens = tokenize(src);
  const pipe: Pipeline = [];
  let cmd: Command = [];
  for (const t of tokens) {
    if (t === '|') {
      if (cmd.length === 0) throw new TemplateError(`missing command before "|" in {{${src}}}`);
      pipe.push(cmd);
      cmd = [];
      continue;
    }
    cmd.push(toArg(t, known));
  }
  if (cmd.length === 0) throw new TemplateError(`empty action {{${src}}}`);
  pipe.push(cmd);
  for (const c of pipe) {
    const head = c[0] as Arg;
    if (head.k !== 'ident' && c.length > 1) throw new TemplateError(`can't give arguments to a non-function in {{${src}}}`);
  }
  return pipe;
}

function tokenize(src: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '|') {
      out.push('|');
      i++;
      continue;
    }
    if (c === '"' || c === '`') {
      let j = i + 1;
      while (j < src.length && src[j] !== c) j += src[j] === '\\' && c === '"' ? 2 : 1;
      if (j >= src.length) throw new TemplateError(`unterminated string in {{${src}}}`);
      out.push(src.slice(i, j + 1));
      i = j + 1;
      continue;
    }
    if (c === '(' || c === ')') throw new TemplateError('unsupported template construct "(" (parenthesised pipelines)');
    if (c === '$') throw new TemplateError(`unsupported template construct "${/^\$\w*/.exec(src.slice(i))?.[0] ?? '$'}" (variables)`);
    const m = /^[^\s|()"`]+/.exec(src.slice(i));
    const word = m?.[0] ?? c;
    out.push(word);
    i += word.length;
  }
  return out;
}

function toArg(t: string, known: Set<string>): Arg {
  if (t === '.') return { k: 'dot' };
  if (t.startsWith('.')) {
    const name = t.slice(1);
    if (name.includes('.')) throw new TemplateError(`unsupported template construct "${t}" (nested fields)`);
    if (!known.has(name)) throw new TemplateError(`unknown template field "${t}" (known: ${[...known].map((f) => `.${f}`).join(', ')})`);
    return { k: 'field', name };
  }
  if (t.startsWith('"')) {
    try {
      return { k: 'lit', v: JSON.parse(t) as string };
    } catch {
      throw new TemplateError(`unsupported string escape in ${t}`);
    }
  }
  if (t.startsWith('`')) return { k: 'lit', v: t.slice(1, -1) };
  if (t === 'true' || t === 'false') return { k: 'lit', v: t === 'true' };
  if (/^-?\d+(\.\d+)?$/.test(t)) return { k: 'lit', v: Number(t) };
  if (UNSUPPORTED.has(t)) throw new TemplateError(`unsupported template construct "${t}"`);
  if (!FUNCS.has(t)) throw new TemplateError(`unsupported template function "${t}"`);
  return { k: 'ident', name: t };
}

function renderNodes(nodes: Node[], data: TemplateData): string {
  let out = '';
  for (const n of nodes) {
    if (n.k === 'text') out += n.s;
    else if (n.k === 'out') out += goPrint(evalPipeline(n.pipe, data));
    else {
      const branch = n.branches.find((b) => truthy(evalPipeline(b.pipe, data)));
      if (branch) out += renderNodes(branch.body, data);
      else if (n.otherwise) out += renderNodes(n.otherwise, data);
    }
  }
  return out;
}

function evalPipeline(pipe: Pipeline, data: TemplateData): Value {
  let prev: Value | undefined;
  for (const cmd of pipe) {
    const head = cmd[0] as Arg;
    const args = cmd.slice(1).map((a) => evalArg(a, data));
    if (prev !== undefined) args.push(prev);
    prev = head.k === 'ident' ? call(head.name, args) : evalArg(head, data);
  }
  return prev ?? null;
}

function evalArg(a: Arg, data: TemplateData): Value {
  if (a.k === 'field') return data[a.name] ?? null;
  if (a.k === 'lit') return a.v;
  if (a.k === 'dot') return '{' + Object.values(data).map(goPrint).join(' ') + '}';
  return call(a.name, []);
}

function call(name: string, args: Value[]): Value {
  switch (name) {
    case 'printf':
      return goSprintf(goPrint(args[0] ?? ''), args.slice(1));
    case 'print':
      return args.map(goPrint).join('');
    case 'println':
      return `${args.map(goPrint).join(' ')}\n`;
    case 'js':
      return jsEscape(args.map(goPrint).join(''));
    case 'html':
      return htmlEscape(args.map(goPrint).join(''));
    case 'urlquery':
      return queryEscape(args.map(goPrint).join(''));
    case 'len':
      return goPrint(args[0] ?? '').length;
    case 'not':
      return !truthy(args[0] ?? null);
    case 'eq':
      return args.slice(1).some((b) => goPrint(args[0] ?? null) === goPrint(b));
    case 'ne':
      return goPrint(args[0] ?? null) !== goPrint(args[1] ?? null);
    case 'and': {
      for (const a of args) if (!truthy(a)) return a;
      return args[args.length - 1] ?? null;
    }
    case 'or': {
      for (const a of args) if (truthy(a)) return a;
      return args[args.length - 1] ?? null;
    }
    default:
      throw new TemplateError(`unsupported template function "${name}"`);
  }
}

function truthy(v: Value): boolean {
  if (v === null || v === false || v === '' || v === 0) return false;
  return true;
}

export function goPrint(v: Value): string {
  if (v === null) return '<no value>';
  if (v instanceof GoTime) return v.toString();
  return String(v);
}

function goSprintf(format: string, args: Value[]): string {
  let i = 0;
  return format.replace(/%([%sqvdt])/g, (_m, verb: string) => {
    if (verb === '%') return '%';
    if (i >= args.length) return `%!${verb}(MISSING)`;
    const a = args[i++] as Value;
    if (verb === 'q') return goQuote(goPrint(a));
    if (verb === 'd') return typeof a === 'number' ? String(Math.trunc(a)) : `%!d(string=${goPrint(a)})`;
    return goPrint(a);
  });
}

/** Go's strconv.Quote. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (c === 7) out += '\\a';
    else if (c === 8) out += '\\b';
    else if (c === 12) out += '\\f';
    else if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c === 9) out += '\\t';
    else if (c === 11) out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (c === 0xfffd && ch !== '\ufffd') out += '\\ufffd';
    else if (!isPrint(ch)) out += c > 0xffff ? `\\U${c.toString(16).padStart(8, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

function isPrint(ch: string): boolean {
  return !/[\p{C}\p{Zl}\p{Zp}]/u.test(ch) && (ch === ' ' || !/\p{Zs}/u.test(ch));
}

/** Go's template.JSEscapeString. */
export function jsEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    switch (ch) {
      case '\\': out += '\\\\'; continue;
      case "'": out += "\\'"; continue;
      case '"': out += '\\"'; continue;
      case '<': out += '\\u003C'; continue;
      case '>': out += '\\u003E'; continue;
      case '&': out += '\\u0026'; continue;
      case '=': out += '\\u003D'; continue;
    }
    if (c < 0x20) out += `\\u00${c.toString(16).toUpperCase().padStart(2, '0')}`;
    else if (c >= 0x80 && !isPrint(ch)) out += `\\u${c.toString(16).toUpperCase().padStart(4, '0')}`;
    else out += ch;
  }
  return out;
}

/** Go's template.HTMLEscapeString. */
export function htmlEscape(s: string): string {
  return s.replace(/[\0"'&<>]/g, (c) => ({ '\0': '\ufffd', '"': '&#34;', "'": '&#39;', '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c] as string);
}

/** Go's url.QueryEscape. */
export function queryEscape(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(/%20/g, '+');
}
