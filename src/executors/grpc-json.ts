/**
 * Protobuf JSON mapping (what grpcurl, and so dkron's grpc executor, speaks)
 * over message types found through server reflection. protobufjs's own
 * fromObject/toObject use proto field names and know no well-known types, so
 * request bodies are translated in (camelCase or proto names, RFC 3339
 * timestamps, "1.5s" durations, wrappers, Struct) and responses out.
 *
 * The protobufjs shapes are declared structurally: the reflection client
 * brings its own protobufjs, which Kairos does not import.
 */

export interface PbEnum {
  fullName: string;
  values: Record<string, number>;
  valuesById: Record<number, string>;
}

export interface PbField {
  name: string;
  type: string;
  repeated: boolean;
  map: boolean;
  resolvedType: PbType | PbEnum | null;
}

export interface PbType {
  fullName: string;
  fieldsArray: PbField[];
  fromObject(object: Record<string, unknown>): object;
  toObject(message: object, options: Record<string, unknown>): Record<string, unknown>;
  encode(message: object): { finish(): Uint8Array };
  decode(bytes: Uint8Array): object;
}

export class GrpcJsonError extends Error {}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const WRAPPERS = new Set(
  ['Double', 'Float', 'Int64', 'UInt64', 'Int32', 'UInt32', 'Bool', 'String', 'Bytes'].map((t) => `.google.protobuf.${t}Value`),
);
const INT32 = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32']);
const INT64 = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

/** lowerCamelCase, as protoc derives json_name. */
export function jsonName(protoName: string): string {
  return protoName.replace(/_+([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

const isMessage = (t: PbType | PbEnum | null): t is PbType => t !== null && 'fieldsArray' in t;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

// ---------- JSON → protobufjs object ----------

/** Converts a JSON request body into what `type.fromObject` takes. Throws GrpcJsonError naming the path. */
export function fromJson(type: PbType, json: unknown, path = ''): Record<string, unknown> {
  const wkt = wktFromJson(type, json, path);
  if (wkt !== undefined) return wkt;
  if (!isObject(json)) throw new GrpcJsonError(`${where(path)}expected a JSON object for ${strip(type.fullName)}`);
  const byName = new Map<string, PbField>();
  for (const f of type.fieldsArray) {
    byName.set(f.name, f);
    byName.set(jsonName(f.name), f);
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    const field = byName.get(key);
    if (!field) throw new GrpcJsonError(`${where(path)}${strip(type.fullName)} has no field named "${key}"`);
    // As protojson: null means "not set".
    if (value === null && field.resolvedType?.fullName !== '.google.protobuf.Value') continue;
    const fieldPath = path === '' ? key : `${path}.${key}`;
    if (field.map) {
      if (!isObject(value)) throw new GrpcJsonError(`${fieldPath}: expected a JSON object (map)`);
      const map: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) map[k] = valueFromJson(field, v, `${fieldPath}.${k}`);
      out[field.name] = map;
    } else if (field.repeated) {
      if (!Array.isArray(value)) throw new GrpcJsonError(`${fieldPath}: expected a JSON array`);
      out[field.name] = value.map((v, i) => valueFromJson(field, v, `${fieldPath}[${i}]`));
    } else {
      out[field.name] = valueFromJson(field, value, fieldPath);
    }
  }
  return out;
}

function valueFromJson(field: PbField, value: unknown, path: string): unknown {
  const t = field.resolvedType;
  if (isMessage(t)) return fromJson(t, value, path);
  if (t) {
    if (typeof value === 'string' && value in t.values) return value;
    if (typeof value === 'number' && Number.isInteger(value)) return value;
    throw new GrpcJsonError(`${path}: ${JSON.stringify(value)} is not a value of enum ${strip(t.fullName)}`);
  }
  return scalarFromJson(field.type, value, path);
}

function scalarFromJson(type: string, value: unknown, path: string): unknown {
  const bad = (): never => {
    throw new GrpcJsonError(`${path}: ${JSON.stringify(value)} is not a valid ${type}`);
  };
  if (type === 'string') return typeof value === 'string' ? value : bad();
  if (type === 'bool') return typeof value === 'boolean' ? value : bad();
  if (type === 'bytes') return typeof value === 'string' && /^[A-Za-z0-9+/_-]*={0,2}$/.test(value) ? value : bad();
  if (INT32.has(type) || INT64.has(type)) {
    const s = typeof value === 'number' || typeof value === 'string' ? String(value).trim() : '';
    if (!/^-?\d+$/.test(s)) bad();
    // 64-bit values stay strings so nothing past 2^53 is rounded.
    return INT64.has(type) ? s : Number(s);
  }
  if (type === 'double' || type === 'float') {
    if (typeof value === 'number') return value;
    if (value === 'NaN' || value === 'Infinity' || value === '-Infinity') return Number(value);
    if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
    return bad();
  }
  return bad();
}

function wktFromJson(type: PbType, json: unknown, path: string): Record<string, unknown> | undefined {
  const bad = (what: string): never => {
    throw new GrpcJsonError(`${where(path)}expected ${what} for ${strip(type.fullName)}, got ${JSON.stringify(json)}`);
  };
  switch (type.fullName) {
    case '.google.protobuf.Timestamp': {
      const m = typeof json === 'string' ? /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/i.exec(json) : null;
      const ms = m ? Date.parse(`${m[1] ?? ''}${m[3] ?? ''}`) : NaN;
      if (!m || Number.isNaN(ms)) return bad('an RFC 3339 timestamp');
      return { seconds: String(Math.floor(ms / 1000)), nanos: Number((m[2] ?? '').padEnd(9, '0')) };
    }
    case '.google.protobuf.Duration': {
      const m = typeof json === 'string' ? /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(json) : null;
      if (!m) return bad('a duration like "1.5s"');
      const sign = m[1] ? -1 : 1;
      const nanos = sign * Number((m[3] ?? '').padEnd(9, '0'));
      return { seconds: `${m[1] ?? ''}${m[2] ?? '0'}`, nanos: nanos === 0 ? 0 : nanos };
    }
    case '.google.protobuf.Empty':
      return isObject(json) && Object.keys(json).length === 0 ? {} : bad('{}');
    case '.google.protobuf.FieldMask':
      if (typeof json !== 'string') return bad('a comma-separated path list');
      return { paths: json === '' ? [] : json.split(',').map((p) => p.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)) };
    case '.google.protobuf.Struct':
      if (!isObject(json)) return bad('a JSON object');
      return { fields: Object.fromEntries(Object.entries(json).map(([k, v]) => [k, structValue(v)])) };
    case '.google.protobuf.ListValue':
      return Array.isArray(json) ? { values: json.map(structValue) } : bad('a JSON array');
    case '.google.protobuf.Value':
      return structValue(json);
  }
  if (WRAPPERS.has(type.fullName)) {
    const field = type.fieldsArray[0];
    if (!field) return undefined;
    return { value: scalarFromJson(field.type, json, path === '' ? 'value' : path) };
  }
  return undefined;
}

function structValue(v: unknown): Record<string, unknown> {
  if (v === null || v === undefined) return { null_value: 0 };
  if (typeof v === 'number') return { number_value: v };
  if (typeof v === 'string') return { string_value: v };
  if (typeof v === 'boolean') return { bool_value: v };
  if (Array.isArray(v)) return { list_value: { values: v.map(structValue) } };
  return { struct_value: { fields: Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, structValue(x)])) } };
}

// ---------- protobufjs message → JSON ----------

/** A decoded message as protobuf JSON (camelCase names, default values omitted, int64 as strings). */
export function toJson(type: PbType, message: object): Json {
  const plain = type.toObject(message, { longs: String, enums: String, bytes: String, json: true });
  return plainToJson(type, plain);
}

function plainToJson(type: PbType, plain: Record<string, unknown>): Json {
  const wkt = wktToJson(type, plain);
  if (wkt !== undefined) return wkt;
  const out: { [key: string]: Json } = {};
  for (const field of type.fieldsArray) {
    const value = plain[field.name];
    if (value === undefined || value === null) continue;
    if (field.map && isObject(value)) {
      out[jsonName(field.name)] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fieldToJson(field, v)]));
    } else if (field.repeated && Array.isArray(value)) {
      out[jsonName(field.name)] = value.map((v) => fieldToJson(field, v));
    } else {
      out[jsonName(field.name)] = fieldToJson(field, value);
    }
  }
  return out;
}

function fieldToJson(field: PbField, value: unknown): Json {
  const t = field.resolvedType;
  if (isMessage(t) && isObject(value)) return plainToJson(t, value);
  return value as Json;
}

function wktToJson(type: PbType, plain: Record<string, unknown>): Json | undefined {
  switch (type.fullName) {
    case '.google.protobuf.Timestamp': {
      const ms = Number(plain.seconds ?? 0) * 1000;
      const iso = new Date(ms).toISOString().replace(/\.\d{3}Z$/, '');
      return `${iso}${fraction(Number(plain.nanos ?? 0))}Z`;
    }
    case '.google.protobuf.Duration': {
      const seconds = String(plain.seconds ?? '0');
      const nanos = Number(plain.nanos ?? 0);
      const sign = nanos < 0 && !seconds.startsWith('-') ? '-' : '';
      return `${sign}${seconds}${fraction(Math.abs(nanos))}s`;
    }
    case '.google.protobuf.Empty':
      return {};
    case '.google.protobuf.FieldMask':
      return ((plain.paths as string[] | undefined) ?? []).map(jsonName).join(',');
    case '.google.protobuf.Struct':
      return Object.fromEntries(
        Object.entries((plain.fields as Record<string, Record<string, unknown>> | undefined) ?? {}).map(([k, v]) => [k, valueToJson(v)]),
      );
    case '.google.protobuf.ListValue':
      return ((plain.values as Array<Record<string, unknown>> | undefined) ?? []).map(valueToJson);
    case '.google.protobuf.Value':
      return valueToJson(plain);
  }
  if (WRAPPERS.has(type.fullName)) {
    if (plain.value !== undefined) return plain.value as Json;
    // Default values are not on the wire; a wrapper that is present still has one.
    const t = type.fieldsArray[0]?.type ?? '';
    if (t === 'bool') return false;
    if (t === 'string' || t === 'bytes' || INT64.has(t)) return t === 'string' || t === 'bytes' ? '' : '0';
    return 0;
  }
  return undefined;
}

function valueToJson(v: Record<string, unknown>): Json {
  if (v.number_value !== undefined) return v.number_value as number;
  if (v.string_value !== undefined) return v.string_value as string;
  if (v.bool_value !== undefined) return v.bool_value as boolean;
  if (isObject(v.struct_value)) {
    const fields = (v.struct_value.fields as Record<string, Record<string, unknown>> | undefined) ?? {};
    return Object.fromEntries(Object.entries(fields).map(([k, x]) => [k, valueToJson(x)]));
  }
  if (isObject(v.list_value)) {
    return ((v.list_value.values as Array<Record<string, unknown>> | undefined) ?? []).map(valueToJson);
  }
  return null;
}

/** protojson prints 0, 3, 6 or 9 fractional digits. */
function fraction(nanos: number): string {
  if (nanos === 0) return '';
  const s = String(nanos).padStart(9, '0');
  if (s.endsWith('000000')) return `.${s.slice(0, 3)}`;
  if (s.endsWith('000')) return `.${s.slice(0, 6)}`;
  return `.${s}`;
}

const strip = (fullName: string): string => fullName.replace(/^\./, '');
const where = (path: string): string => (path === '' ? '' : `${path}: `);
