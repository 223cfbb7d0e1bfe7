import { describe, expect, it } from 'vitest';
import { joinKey, parseTemplateResource, TemplateResourceError } from './template-resource.js';

describe('template resources', () => {
  it('parses confd TOML', () => {
    const r = parseTemplateResource(
      'bird.toml',
      `[template]
src = "bird.cfg.template"
dest = "/etc/bird/bird.cfg"
mode = "0600"
prefix = "/calico"
keys = ["/bgp/v1/host", "bgp/v1/global"]
check_cmd = "bird -p -c {{.src}}"
reload_cmd = "birdc configure"
`,
      '/etc/tabby/confd/templates',
    );
    expect(r).toEqual({
      name: 'bird.toml',
      src: '/etc/tabby/confd/templates/bird.cfg.template',
      dest: '/etc/bird/bird.cfg',
      mode: 0o600,
      prefix: '/calico',
      keys: ['/calico/bgp/v1/host', '/calico/bgp/v1/global'],
      checkCmd: 'bird -p -c {{.src}}',
      reloadCmd: 'birdc configure',
    });
  });
  const bad: Array<[string, string]> = [
    ['', 'missing [template] table'],
    ['[template]\ndest="/x"\nkeys=["/a"]', 'template.src must be a non-empty string'],
    ['[template]\nsrc="a"\ndest="/x"\nkeys=[]', 'template.keys must be a non-empty list of strings'],
    ['[template]\nsrc="a"\ndest="/x"\nkeys=["/a"]\nmode="rw"', 'template.mode must be an octal string'],
    ['[template]\nsrc="a"\ndest="/x"\nkeys=["/a"]\nreload="x"', 'unknown field template.reload'],
    ['[template\n', 'invalid TOML'],
  ];
  it.each(bad)('rejects %j', (text, message) => {
    expect(() => parseTemplateResource('r.toml', text, '/t')).toThrow(TemplateResourceError);
    expect(() => parseTemplateResource('r.toml', text, '/t')).toThrow(message);
  });
  it('joins keys like path.Join', () => {
    expect(joinKey('/', '/a/')).toBe('/a');
    expect(joinKey('/calico/', 'bgp//v1')).toBe('/calico/bgp/v1');
    expect(joinKey('/', '')).toBe('/');
  });
});
