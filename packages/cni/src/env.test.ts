import { describe, expect, it } from 'vitest';
import { parseCniArgs, parseCniEnv } from './env.js';
import { CniError, CniErrorCode } from './errors.js';

const env = {
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'abc123',
  CNI_NETNS: '/var/run/netns/x',
  CNI_IFNAME: 'eth0',
  CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p',
  CNI_PATH: '/opt/cni/bin',
};

const failure = (e: NodeJS.ProcessEnv): { code: number; message: string } | undefined => {
  try {
    parseCniEnv(e);
  } catch (err) {
    if (err instanceof CniError) return { code: err.code, message: err.message };
    throw err;
  }
  return undefined;
};

describe('parseCniEnv', () => {
  it('reads the CNI variables and CNI_ARGS', () => {
    expect(parseCniEnv(env)).toEqual({
      command: 'ADD',
      containerId: 'abc123',
      netns: '/var/run/netns/x',
      ifname: 'eth0',
      args: { IgnoreUnknown: '1', K8S_POD_NAMESPACE: 'ns', K8S_POD_NAME: 'p' },
      path: '/opt/cni/bin',
    });
  });

  it('allows an empty CNI_NETNS on DEL only', () => {
    expect(parseCniEnv({ ...env, CNI_COMMAND: 'DEL', CNI_NETNS: '' }).netns).toBe('');
    expect(failure({ ...env, CNI_NETNS: '' })).toMatchObject({ code: CniErrorCode.InvalidEnvironment });
    expect(failure({ ...env, CNI_COMMAND: 'CHECK', CNI_NETNS: '' })?.message).toContain('CNI_NETNS');
  });

  it.each([
    ['no command', { CNI_COMMAND: undefined }, 'CNI_COMMAND'],
    ['unknown command', { CNI_COMMAND: 'UPDATE' }, 'UPDATE'],
    ['no container ID', { CNI_CONTAINERID: '' }, 'CNI_CONTAINERID'],
    ['bad container ID', { CNI_CONTAINERID: '../x' }, 'CNI_CONTAINERID'],
    ['no ifname', { CNI_IFNAME: undefined }, 'CNI_IFNAME'],
    ['long ifname', { CNI_IFNAME: 'a-very-long-ifname' }, 'CNI_IFNAME'],
    ['ifname with a slash', { CNI_IFNAME: 'a/b' }, 'CNI_IFNAME'],
    ['bad CNI_ARGS', { CNI_ARGS: 'K8S_POD_NAME' }, 'CNI_ARGS'],
  ])('rejects %s with code 4', (_what, patch, mention) => {
    const f = failure({ ...env, ...patch });
    expect(f?.code).toBe(CniErrorCode.InvalidEnvironment);
    expect(f?.message).toContain(mention);
  });

  it('parses CNI_ARGS with empty parts and = in values', () => {
    expect(parseCniArgs('A=1;;B=x=y;')).toEqual({ A: '1', B: 'x=y' });
    expect(parseCniArgs(undefined)).toEqual({});
  });
});
