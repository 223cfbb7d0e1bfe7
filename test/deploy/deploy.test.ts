import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseNetConf } from '@tabby/cni';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

// The deploy files cannot run here (no container engine daemon, no Kubernetes API server, no
// systemd as PID 1), so these tests check what can be checked without them: every manifest is
// well-formed and consistent (service accounts, config map keys, volumes), every command line
// uses options the Tabby commands accept, the shipped configs pass the daemons' own --check, the
// init container's script installs a CNI plugin that answers VERSION, and systemd accepts the units.

const ROOT = join(import.meta.dirname, '..', '..');
const DEPLOY = join(ROOT, 'deploy');
const TABBY = join(ROOT, 'packages', 'cli', 'bin', 'tabby.js');
const work = mkdtempSync(join(tmpdir(), 'tabby-deploy-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  // biome-ignore lint/suspicious/noExplicitAny: manifests are free-form
  spec?: any;
  data?: Record<string, string>;
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: { name: string; valueFrom?: { configMapKeyRef?: { name: string; key: string } } }[];
  volumeMounts?: { name: string; mountPath: string }[];
}

const manifests: K8sObject[] = readdirSync(join(DEPLOY, 'kubernetes'))
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) =>
    parseAllDocuments(readFileSync(join(DEPLOY, 'kubernetes', f), 'utf8')).map((d) => {
      if (d.errors.length) throw new Error(`${f}: ${d.errors[0]?.message}`);
      return d.toJS() as K8sObject;
    }),
  );
const find = (kind: string, name: string) => manifests.find((m) => m.kind === kind && m.metadata.name === name);
const workloads = manifests.filter((m) => m.kind === 'DaemonSet' || m.kind === 'Deployment');

/** The long options `tabby SUB --help` documents. */
function optionsOf(sub: string): Set<string> {
  const help = execFileSync(process.execPath, [TABBY, sub, '--help'], { encoding: 'utf8' });
  return new Set([...help.matchAll(/(?:^|[\s,])(--[a-z][a-z0-9-]*)/gm)].map((m) => m[1] as string));
}

function tabby(args: string[]) {
  return spawnSync(process.execPath, [TABBY, ...args], { encoding: 'utf8' });
}

describe('Kubernetes manifests', () => {
  it('are well-formed objects with a kind, a name and the tabby-system namespace', () => {
    expect(manifests.length).toBeGreaterThanOrEqual(8);
    for (const m of manifests) {
      expect(m.apiVersion, JSON.stringify(m.metadata)).toBeTruthy();
      expect(m.metadata?.name, m.kind).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
      const clusterScoped = ['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(m.kind);
      if (!clusterScoped) expect(m.metadata.namespace, `${m.kind}/${m.metadata.name}`).toBe('tabby-system');
    }
    expect(workloads.map((w) => w.kind).sort()).toEqual(['DaemonSet', 'Deployment']);
  });

  it('workloads refer only to service accounts, config map keys and volumes that exist', () => {
    for (const w of workloads) {
      const pod = w.spec.template.spec;
      for (const [k, v] of Object.entries(w.spec.selector.matchLabels))
        expect(w.spec.template.metadata.labels[k]).toBe(v);
      expect(find('ServiceAccount', pod.serviceAccountName), pod.serviceAccountName).toBeDefined();
      const volumes = new Set((pod.volumes ?? []).map((v: { name: string }) => v.name));
      for (const c of [...(pod.initContainers ?? []), ...pod.containers] as Container[]) {
        for (const m of c.volumeMounts ?? []) expect(volumes.has(m.name), `${c.name}: volume ${m.name}`).toBe(true);
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.configMapKeyRef;
          if (ref)
            expect(find('ConfigMap', ref.name)?.data?.[ref.key], `${c.name}: ${ref.name}/${ref.key}`).toBeDefined();
        }
      }
      for (const v of pod.volumes ?? []) {
        if (v.configMap) expect(find('ConfigMap', v.configMap.name), v.configMap.name).toBeDefined();
      }
    }
    for (const b of manifests.filter((m) => m.kind === 'ClusterRoleBinding')) {
      const { roleRef, subjects } = b as unknown as { roleRef: { name: string }; subjects: { name: string }[] };
      expect(find('ClusterRole', roleRef.name), roleRef.name).toBeDefined();
      for (const s of subjects) expect(find('ServiceAccount', s.name), s.name).toBeDefined();
    }
  });

  it('containers run tabby commands with options those commands accept', () => {
    let checked = 0;
    for (const w of workloads) {
      for (const c of w.spec.template.spec.containers as Container[]) {
        if (c.command) continue; // a shell script (the CNI installer), tested below
        const [sub, ...rest] = c.args ?? ['node'];
        const known = optionsOf(sub as string);
        for (const a of rest.filter((x) => x.startsWith('--'))) {
          expect(known.has(a.split('=')[0] as string), `tabby ${sub} ${a} (${w.metadata.name})`).toBe(true);
          checked += 1;
        }
      }
    }
    expect(checked).toBeGreaterThan(3);
  });

  it("the reflector's config passes tabby rr --check", () => {
    const file = join(work, 'rr.yaml');
    writeFileSync(file, find('ConfigMap', 'tabby-rr')?.data?.['rr.yaml'] ?? '');
    const r = tabby(['rr', '--check', '-c', file]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it('the init container installs a CNI plugin that answers VERSION, with a config the plugin accepts', () => {
    const ds = manifests.find((m) => m.kind === 'DaemonSet')!;
    const init = (ds.spec.template.spec.initContainers as Container[]).find((c) => c.name === 'install-cni')!;
    const host = join(work, 'host');
    mkdirSync(join(host, 'opt/cni/bin'), { recursive: true });
    mkdirSync(join(host, 'etc/cni/net.d'), { recursive: true });
    // The script as the container runs it, with the host mounts and the image paths moved here.
    const script = (init.args?.[0] ?? '')
      .replaceAll('/host/', `${host}/`)
      .replaceAll('/opt/tabby/', `${ROOT}/`)
      .replaceAll('/usr/local/bin/node', process.execPath);
    const config = find('ConfigMap', 'tabby-config')!.data!;
    execFileSync('/bin/sh', ['-c', script], {
      env: {
        PATH: process.env.PATH,
        CNI_NETWORK_CONFIG: config.cni_network_config,
        TABBY_DATASTORE: config.datastore,
        NODENAME: 'node-1',
      },
    });
    const version = execFileSync(join(host, 'opt/cni/bin/tabby-cni'), {
      env: { CNI_COMMAND: 'VERSION', PATH: process.env.PATH },
      input: '{"cniVersion":"1.0.0"}',
      encoding: 'utf8',
    });
    expect(JSON.parse(version).supportedVersions).toContain('1.0.0');
    const list = JSON.parse(readFileSync(join(host, 'etc/cni/net.d/10-tabby.conflist'), 'utf8'));
    const plugin = { cniVersion: list.cniVersion, name: list.name, ...list.plugins[0] };
    expect(plugin.datastore).toBe(config.datastore);
    expect(plugin.nodename).toBe('node-1');
    expect(parseNetConf(JSON.stringify(plugin)).type).toBe('tabby-cni');
  });
});

const units = readdirSync(join(DEPLOY, 'systemd')).filter((f) => f.endsWith('.service'));

describe('systemd units', () => {
  it.each(units)('%s runs tabby commands with options they accept', (unit) => {
    const text = readFileSync(join(DEPLOY, 'systemd', unit), 'utf8');
    const lines = [...text.matchAll(/^ExecStart(?:Pre)?=(.*)$/gm)].map((m) => (m[1] as string).split(/\s+/));
    expect(lines.length).toBeGreaterThan(0);
    for (const words of lines) {
      // The shim itself, not `node SHIM`: its #! line gives Node the daemons' options.
      expect(words[0]).toBe('/opt/tabby/packages/cli/bin/tabby.js');
      const [sub, ...rest] = words.slice(1);
      const known = optionsOf(sub as string);
      for (const a of rest.filter((x) => x.startsWith('--')))
        expect(known.has(a), `${unit}: tabby ${sub} ${a}`).toBe(true);
    }
  });

  it.skipIf(!existsSync('/usr/bin/systemd-analyze'))('every unit passes systemd-analyze verify', () => {
    // Paths moved to this checkout, so that verify can check the executables exist.
    for (const unit of units) {
      const file = join(work, unit);
      writeFileSync(file, readFileSync(join(DEPLOY, 'systemd', unit), 'utf8').replaceAll('/opt/tabby/', `${ROOT}/`));
      const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
      expect(r.status, `${unit}: ${r.stderr}`).toBe(0);
      expect(r.stderr.split('\n').filter((l) => l.includes(unit) && !/Failed to|ordering cycle/.test(l))).toEqual([]);
    }
  });
});

describe('Containerfile', () => {
  it('copies what exists and links bins that exist', () => {
    const text = readFileSync(join(DEPLOY, 'Containerfile'), 'utf8');
    for (const m of text.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const src of (m[1] as string).split(/\s+/)) expect(existsSync(join(ROOT, src)), src).toBe(true);
    }
    for (const m of text.matchAll(/ln -s \/opt\/tabby\/(\S+)/g))
      expect(existsSync(join(ROOT, m[1] as string)), m[1]).toBe(true);
  });
});
