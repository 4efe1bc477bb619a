/** The executor names to offer: the built-ins plus whatever GET /v1/plugins lists (third-party plugins). */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';

export const BUILTIN_EXECUTORS = ['shell', 'http', 'grpc', 'nats', 'rabbitmq'];

interface PluginListing {
  name: string;
  kind: 'executor' | 'processor';
}

let cached: Promise<PluginListing[]> | null = null;

/** Fetched once per page load: plugins change only when an agent restarts. */
export function loadPlugins(): Promise<PluginListing[]> {
  cached ??= api<PluginListing[]>('GET', 'plugins').then(
    (r) => (Array.isArray(r.data) ? r.data : []),
    () => {
      cached = null;
      return [];
    },
  );
  return cached;
}

function names(list: PluginListing[], kind: PluginListing['kind'], base: string[]): string[] {
  return [...new Set([...base, ...list.filter((p) => p.kind === kind).map((p) => p.name)])];
}

export function usePluginNames(kind: PluginListing['kind']): string[] {
  const base = kind === 'executor' ? BUILTIN_EXECUTORS : [];
  const [list, setList] = useState<string[]>(base);
  useEffect(() => {
    let live = true;
    void loadPlugins().then((l) => {
      if (live) setList(names(l, kind, base));
    });
    return () => {
      live = false;
    };
  }, [kind]);
  return list;
}

export const useExecutorNames = (): string[] => usePluginNames('executor');
