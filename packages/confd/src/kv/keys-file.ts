import { readFile } from 'node:fs/promises';
import { parseYamlFile, preview } from '@tabby/yaml';
import type { KeyValue } from './key-value-source.js';

/** A keys file could not be read or has the wrong shape. */
export class KeysFileError extends Error {
  readonly code = 'CONFD_KEYS_FILE_INVALID';
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'KeysFileError';
  }
}

/**
 * Reads a flat keys file (JSON or YAML; JSON is YAML): a mapping of absolute key to value, or a
 * mapping with such a mapping under `keys`. Non-string values are stored as their JSON text,
 * so `/calico/bgp/v1/global/node_mesh: {enabled: true}` works.
 */
export async function readKeysFile(file: string): Promise<KeyValue[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new KeysFileError(file, `cannot read: ${(e as Error).message}`);
  }
  // The shared loader: YAML errors, undefined aliases, alias bombs and deep nesting are issues.
  const { document, errors } = parseYamlFile(text);
  const e = errors[0];
  if (e) throw new KeysFileError(file, `${e.line}:${e.column}: not valid JSON or YAML: ${e.message}`);
  let doc: unknown = document?.value ?? null;
  if (doc && typeof doc === 'object' && !Array.isArray(doc) && 'keys' in doc) doc = (doc as { keys: unknown }).keys;
  if (doc === null || doc === undefined) return [];
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new KeysFileError(file, 'expected a mapping of keys (such as /calico/bgp/v1/global/as_num) to values');
  }
  const out: KeyValue[] = [];
  for (const [key, v] of Object.entries(doc as Record<string, unknown>)) {
    if (!key.startsWith('/')) throw new KeysFileError(file, `key ${preview(key)} must start with "/"`);
    const value = typeof v === 'string' ? v : v === null ? '' : JSON.stringify(v);
    out.push({ key, value });
  }
  return out;
}
