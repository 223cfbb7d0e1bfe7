import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';

/**
 * One template resource, read from `<confdir>/conf.d/*.toml` in confd's own format:
 *
 * ```toml
 * [template]
 * src = "bird.cfg.template"        # under <confdir>/templates
 * dest = "/etc/bird/bird.cfg"
 * mode = "0644"                    # octal string, default 0644
 * prefix = "/calico"               # keys below are relative to it; so are the template's
 * keys = ["/bgp/v1/host", "/bgp/v1/global"]
 * check_cmd = "bird -p -c {{.src}}"   # a template: .src is the staged file
 * reload_cmd = "birdc configure"
 * ```
 */
export interface TemplateResource {
  /** File the resource came from (for messages), or a name given by the caller. */
  readonly name: string;
  /** Absolute path of the template file. */
  readonly src: string;
  readonly dest: string;
  readonly mode: number;
  readonly prefix: string;
  /** Absolute key prefixes to fetch and watch (prefix joined with each key). */
  readonly keys: readonly string[];
  readonly checkCmd: string | undefined;
  readonly reloadCmd: string | undefined;
}

/** A template resource file is malformed. */
export class TemplateResourceError extends Error {
  readonly code = 'CONFD_RESOURCE_INVALID';
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'TemplateResourceError';
  }
}

/** Joins a prefix and a key as Go's path.Join would ("/calico" + "/bgp/v1" = "/calico/bgp/v1"). */
export function joinKey(prefix: string, key: string): string {
  const parts = `${prefix}/${key}`.split('/').filter((p) => p !== '');
  return `/${parts.join('/')}`;
}

/** Parses one resource file's text. `templatesDir` resolves a relative `src`. */
export function parseTemplateResource(file: string, text: string, templatesDir: string): TemplateResource {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (e) {
    throw new TemplateResourceError(file, `invalid TOML: ${(e as Error).message}`);
  }
  const t = doc.template;
  if (typeof t !== 'object' || t === null || Array.isArray(t)) {
    throw new TemplateResourceError(file, 'missing [template] table');
  }
  const tpl = t as Record<string, unknown>;
  const known = new Set(['src', 'dest', 'mode', 'prefix', 'keys', 'check_cmd', 'reload_cmd', 'uid', 'gid']);
  for (const k of Object.keys(tpl)) {
    if (!known.has(k)) throw new TemplateResourceError(file, `unknown field template.${k}`);
  }
  const need = (k: string): string => {
    const v = tpl[k];
    if (typeof v !== 'string' || v === '')
      throw new TemplateResourceError(file, `template.${k} must be a non-empty string`);
    return v;
  };
  const opt = (k: string): string | undefined => {
    const v = tpl[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw new TemplateResourceError(file, `template.${k} must be a string`);
    return v === '' ? undefined : v;
  };
  const src = need('src');
  const dest = need('dest');
  let mode = 0o644;
  const m = tpl.mode;
  if (m !== undefined) {
    if (typeof m !== 'string' || !/^0?[0-7]{3,4}$/.test(m)) {
      throw new TemplateResourceError(
        file,
        `template.mode must be an octal string such as "0644", got ${JSON.stringify(m)}`,
      );
    }
    mode = Number.parseInt(m, 8);
  }
  const prefix = opt('prefix') ?? '/';
  const keys = tpl.keys;
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => typeof k === 'string')) {
    throw new TemplateResourceError(file, 'template.keys must be a non-empty list of strings');
  }
  return {
    name: file,
    src: src.startsWith('/') ? src : join(templatesDir, src),
    dest,
    mode,
    prefix: joinKey(prefix, ''),
    keys: (keys as string[]).map((k) => joinKey(prefix, k)),
    checkCmd: opt('check_cmd'),
    reloadCmd: opt('reload_cmd'),
  };
}

/** Reads every `*.toml` under `<confdir>/conf.d`, sorted by file name. */
export async function loadTemplateResources(confdir: string): Promise<TemplateResource[]> {
  const dir = join(confdir, 'conf.d');
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.toml')).sort();
  } catch (e) {
    throw new TemplateResourceError(dir, `cannot read the resource directory: ${(e as Error).message}`);
  }
  const out: TemplateResource[] = [];
  for (const n of names) {
    const file = join(dir, n);
    out.push(parseTemplateResource(file, await readFile(file, 'utf8'), join(confdir, 'templates')));
  }
  return out;
}
