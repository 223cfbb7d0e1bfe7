import { stringify } from 'yaml';
import type { Datastore } from '../datastore.js';
import { effectiveBGPConfiguration } from '../resources/defaults.js';
import { ResourceStore } from '../resources/store.js';
import { type Kind, NAMESPACED_KINDS, type Resource } from '../resources/types.js';
import { type CliIo, type DatastoreArgs, kindList, parseKind, table, withDatastore } from './common.js';

export const OutputFormat = { Table: 'table', Wide: 'wide', Yaml: 'yaml', Json: 'json' } as const;
export type OutputFormat = (typeof OutputFormat)[keyof typeof OutputFormat];

export interface GetArgs extends DatastoreArgs {
  kind: string;
  name?: string;
  namespace?: string;
  /** Table by default. */
  output?: OutputFormat;
}

const val = (v: unknown) => (v === undefined || v === null || v === '' ? '' : String(v));
const labels = (r: Resource) =>
  Object.entries(r.metadata.labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

function columns(kind: Kind, wide: boolean): [string[], (r: Resource) => string[]] {
  switch (kind) {
    case 'Node':
      return [
        ['NAME', 'ASN', 'IPV4', 'IPV6', ...(wide ? ['RR CLUSTER ID', 'LABELS'] : [])],
        (r) => {
          const b = r.kind === 'Node' ? (r.spec.bgp ?? {}) : {};
          return [
            r.metadata.name,
            val(b.asNumber ?? '(64512)'),
            val(b.ipv4Address),
            val(b.ipv6Address),
            ...(wide ? [val(b.routeReflectorClusterID), labels(r)] : []),
          ];
        },
      ];
    case 'BGPPeer':
      return [
        ['NAME', 'PEERIP', 'NODE', 'ASN', ...(wide ? ['PEER SELECTOR', 'PASSWORD', 'KEEP NEXT HOP'] : [])],
        (r) => {
          const s = r.kind === 'BGPPeer' ? r.spec : {};
          const node = s.node ?? (s.nodeSelector ? `(${s.nodeSelector})` : '(global)');
          return [
            r.metadata.name,
            val(s.peerIP ?? ''),
            node,
            val(s.asNumber ?? ''),
            ...(wide ? [val(s.peerSelector), s.password ? 'yes' : '', s.keepOriginalNextHop ? 'yes' : ''] : []),
          ];
        },
      ];
    case 'BGPConfiguration':
      return [
        ['NAME', 'LOGSEVERITY', 'MESHENABLED', 'ASNUMBER', ...(wide ? ['LISTENPORT', 'BINDMODE'] : [])],
        (r) => {
          const s = r.kind === 'BGPConfiguration' ? r.spec : {};
          const e = effectiveBGPConfiguration(
            r.metadata.name === 'default' ? s : { ...s, asNumber: undefined, nodeToNodeMeshEnabled: undefined },
          );
          return [
            r.metadata.name,
            e.logSeverityScreen,
            r.metadata.name === 'default' ? String(e.nodeToNodeMeshEnabled) : '',
            r.metadata.name === 'default' ? String(e.asNumber) : '',
            ...(wide ? [String(e.listenPort), e.bindMode] : []),
          ];
        },
      ];
    case 'BGPFilter': {
      const header = ['NAME', 'NUMEXPORTV4', 'NUMIMPORTV4', 'NUMEXPORTV6', 'NUMIMPORTV6'];
      return [
        header,
        (r) => {
          const s = r.kind === 'BGPFilter' ? r.spec : {};
          const n = (l: unknown[] | undefined) => String(l?.length ?? 0);
          return [r.metadata.name, n(s.exportV4), n(s.importV4), n(s.exportV6), n(s.importV6)];
        },
      ];
    }
    case 'IPPool':
      return [
        wide
          ? [
              'NAME',
              'CIDR',
              'NAT',
              'IPIPMODE',
              'VXLANMODE',
              'BLOCKSIZE',
              'DISABLED',
              'DISABLEBGPEXPORT',
              'SELECTOR',
              'ASSIGNMENTMODE',
              'ALLOWEDUSES',
            ]
          : ['NAME', 'CIDR', 'SELECTOR'],
        (r) => {
          const s = r.kind === 'IPPool' ? r.spec : { cidr: '' };
          return wide
            ? [
                r.metadata.name,
                s.cidr,
                String(s.natOutgoing ?? false),
                val(s.ipipMode),
                val(s.vxlanMode),
                val(s.blockSize),
                String(s.disabled ?? false),
                String(s.disableBGPExport ?? false),
                val(s.nodeSelector),
                val(s.assignmentMode ?? 'Automatic'),
                (s.allowedUses ?? ['Workload', 'Tunnel']).join(','),
              ]
            : [r.metadata.name, s.cidr, val(s.nodeSelector)];
        },
      ];
    case 'IPReservation':
      return [
        wide ? ['NAME', 'CIDRS'] : ['NAME'],
        (r) => {
          const cidrs = (r.kind === 'IPReservation' ? (r.spec.reservedCIDRs ?? []) : []).join(',');
          return wide ? [r.metadata.name, cidrs.length > 80 ? `${cidrs.slice(0, 77)}...` : cidrs] : [r.metadata.name];
        },
      ];
    case 'CalicoNodeStatus':
      return [
        ['NAME', 'NODE', ...(wide ? ['CLASSES', 'UPDATEPERIOD', 'LASTUPDATED'] : [])],
        (r) => {
          if (r.kind !== 'CalicoNodeStatus') return [r.metadata.name, ''];
          const s = r.spec;
          return [
            r.metadata.name,
            s.node,
            ...(wide ? [s.classes.join(','), `${s.updatePeriodSeconds}s`, val(r.status?.lastUpdated)] : []),
          ];
        },
      ];
    case 'WorkloadEndpoint':
      return [
        ['NAMESPACE', 'NAME', 'NODE', 'POD', 'INTERFACE', 'NETWORKS', ...(wide ? ['MAC'] : [])],
        (r) => {
          const s = r.kind === 'WorkloadEndpoint' ? r.spec : { node: '', pod: '', interfaceName: '', ipNetworks: [] };
          return [
            val(r.metadata.namespace),
            r.metadata.name,
            s.node,
            s.pod,
            s.interfaceName,
            s.ipNetworks.join(','),
            ...(wide ? [val(s.mac)] : []),
          ];
        },
      ];
  }
}

/** `tabby get KIND [NAME] [-o yaml|json|wide]`. */
export async function runGet(args: GetArgs, io: CliIo, ds?: Datastore): Promise<number> {
  const kind = parseKind(args.kind);
  if (!kind) {
    io.stderr(`tabby get: unknown kind ${JSON.stringify(args.kind)}; known kinds: ${kindList()}\n`);
    return 1;
  }
  const output = args.output ?? 'table';
  return withDatastore(
    args,
    io,
    async (store) => {
      const rs = new ResourceStore(store);
      let items: Resource[];
      let revision: number;
      const namespace = NAMESPACED_KINDS.has(kind) ? args.namespace : undefined;
      if (args.name) {
        const r = await rs.get(kind, args.name, namespace ?? (NAMESPACED_KINDS.has(kind) ? 'default' : undefined));
        if (!r) {
          io.stderr(`tabby get: ${kind} ${JSON.stringify(args.name)} not found\n`);
          return 1;
        }
        items = [r];
        revision = Number(r.metadata.resourceVersion);
      } else {
        const l = await rs.list(kind, namespace);
        items = l.items;
        revision = l.revision;
      }
      if (output === 'yaml' || output === 'json') {
        const body = args.name
          ? items[0]
          : {
              apiVersion: 'projectcalico.org/v3',
              kind: `${kind}List`,
              metadata: { resourceVersion: String(revision) },
              items,
            };
        io.stdout(output === 'json' ? `${JSON.stringify(body, null, 2)}\n` : stringify(body));
        return 0;
      }
      const [header, row] = columns(kind, output === 'wide');
      if (!items.length) {
        io.stderr(`No ${kind} resources found.\n`);
        return 0;
      }
      io.stdout(table([header, ...items.map(row)]));
      return 0;
    },
    ds,
  );
}
