// The end-to-end suites use the lab's namespace cluster (packages/lab/src/netns-lab.ts).
export { type ClusterNode, clusterYaml, DS_ADDRESS, DS_URL, NetnsLab as NetnsCluster, type Pod } from '@tabby/lab';
