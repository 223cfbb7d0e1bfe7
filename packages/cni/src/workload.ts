import type { WorkloadEndpointResource } from '@tabby/datastore';
import { workloadInterfaceName } from '@tabby/fib';
import type { CniEnv } from './env.js';

/** Who the container is: Kubernetes namespace and pod from CNI_ARGS, else the container ID. */
export interface WorkloadIdentity {
  namespace: string;
  pod: string;
  orchestrator: 'k8s' | 'cni';
  /** The WorkloadEndpoint's name (Calico's `<node>-<orchestrator>-<pod>-<endpoint>`, `-` doubled). */
  endpointName: string;
  /** Host side of the veth: `cali` + 11 hex digits of sha1(`<namespace>.<pod>`). */
  hostInterface: string;
  /** IPAM handle: `<network name>.<container ID>`. */
  handle: string;
}

const doubleDashes = (s: string): string => s.replaceAll('-', '--');

/** Derives the identity of the workload from the CNI environment, the network name and the node. */
export function workloadIdentity(env: CniEnv, network: string, node: string): WorkloadIdentity {
  const k8sPod = env.args.K8S_POD_NAME;
  const namespace = env.args.K8S_POD_NAMESPACE || 'default';
  const pod = k8sPod || env.containerId;
  const orchestrator = k8sPod ? 'k8s' : 'cni';
  const endpointName = [node, orchestrator, pod, env.ifname]
    .map((p) => doubleDashes(p.toLowerCase().replaceAll('_', '-')))
    .join('-');
  return {
    namespace,
    pod,
    orchestrator,
    endpointName,
    hostInterface: workloadInterfaceName(namespace, pod),
    handle: `${network}.${env.containerId}`,
  };
}

/** The WorkloadEndpoint resource ADD writes. */
export function workloadEndpoint(
  id: WorkloadIdentity,
  env: CniEnv,
  node: string,
  ipNetworks: string[],
  mac: string,
): WorkloadEndpointResource {
  return {
    apiVersion: 'projectcalico.org/v3',
    kind: 'WorkloadEndpoint',
    metadata: {
      name: id.endpointName,
      namespace: id.namespace,
      labels: {
        'projectcalico.org/namespace': id.namespace,
        'projectcalico.org/orchestrator': id.orchestrator,
      },
    },
    spec: {
      node,
      pod: id.pod,
      interfaceName: id.hostInterface,
      ipNetworks,
      mac,
      containerID: env.containerId,
      orchestrator: id.orchestrator,
      endpoint: env.ifname,
      profiles: [`kns.${id.namespace}`],
    },
  };
}
