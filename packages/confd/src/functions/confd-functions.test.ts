import { describe, expect, it } from 'vitest';
import { Template } from '../template/template.js';
import { createConfdFunctions } from './confd-functions.js';
import { compareIP } from './ip.js';
import { KeyStore } from './key-store.js';

const store = KeyStore.fromPrefixed(
  [
    { key: '/calico/bgp/v1/global/as_num', value: '64512' },
    { key: '/calico/bgp/v1/global/node_mesh', value: '{"enabled":true}' },
    { key: '/calico/bgp/v1/host/node-b/ip_addr_v4', value: '10.0.0.2' },
    { key: '/calico/bgp/v1/host/node-a/ip_addr_v4', value: '10.0.0.1' },
    { key: '/calico/bgp/v1/host/node-a/peer_v4/10.9.9.9', value: '{"ip":"10.9.9.9","as_num":"65000"}' },
    { key: '/calico/bgp/v1/global/list', value: '["x","y"]' },
    { key: '/other/ignored', value: 'no' },
  ],
  '/calico/bgp/v1',
);

function render(text: string, env: Record<string, string> = {}): string {
  const funcs = createConfdFunctions({ store: () => store, env, now: () => new Date('2024-02-03T04:05:06Z') });
  return new Template('t', { funcs }).parse(text).execute({});
}

const cases: Array<[name: string, template: string, want: string]> = [
  ['getv', '{{getv "/global/as_num"}}', '64512'],
  ['getv default', '{{getv "/global/nope" "dflt"}}', 'dflt'],
  ['getv present ignores default', '{{getv "/global/as_num" "dflt"}}', '64512'],
  ['get', '{{with get "/global/as_num"}}{{.Key}}={{.Value}}{{end}}', '/global/as_num=64512'],
  [
    'gets sorted by key',
    '{{range gets "/host/*/ip_addr_v4"}}{{.Key}};{{end}}',
    '/host/node-a/ip_addr_v4;/host/node-b/ip_addr_v4;',
  ],
  ['getvs', '{{range getvs "/host/*/ip_addr_v4"}}{{.}};{{end}}', '10.0.0.1;10.0.0.2;'],
  ['ls', '{{ls "/global"}}', '[as_num list node_mesh]'],
  ['lsdir', '{{lsdir "/host"}} {{lsdir "/global"}}', '[node-a node-b] []'],
  ['ls nested', '{{ls "/host/node-a"}}', '[ip_addr_v4 peer_v4]'],
  ['exists', '{{exists "/global/as_num"}} {{exists "/global"}} {{exists "/other/ignored"}}', 'true false false'],
  ['json', '{{(json (getv "/global/node_mesh")).enabled}}', 'true'],
  ['json field of peer', '{{range gets "/host/node-a/peer_v4/*"}}{{$p := json .Value}}{{$p.as_num}}{{end}}', '65000'],
  ['jsonArray', '{{range jsonArray (getv "/global/list")}}{{.}}{{end}}', 'xy'],
  ['base and dir', '{{base "/a/b/c"}} {{dir "/a/b/c"}} {{base ""}} {{dir "x"}}', 'c /a/b . .'],
  ['split and join', '{{join (split "10.0.0.1" ".") "_"}}', '10_0_0_1'],
  ['toUpper toLower', '{{toUpper "aB"}}{{toLower "aB"}}', 'ABab'],
  ['contains', '{{contains "hello" "ell"}} {{contains "hello" "z"}}', 'true false'],
  ['replace all and n', '{{replace "a.b.c" "." "_" -1}} {{replace "a.b.c" "." "_" 1}}', 'a_b_c a_b.c'],
  [
    'replace with empty old',
    '{{replace "ab" "" "-" -1}} {{replace "ab" "" "-" 2}} {{replace "a.b" "." "" 0}}',
    '-a-b- -a-b a.b',
  ],
  [
    'hasPrefix hasSuffix',
    '{{hasPrefix "abc" "ab"}} {{hasSuffix "abc" "bc"}} {{hasSuffix "abc" "a"}}',
    'true true false',
  ],
  ['map', '{{$m := map "a" 1 "b" "x"}}{{$m.b}}{{index $m "a"}}', 'x1'],
  ['getenv', '{{getenv "NODENAME"}} [{{getenv "NOPE"}}] {{getenv "NOPE" "d"}}', 'node-a [] d'],
  ['base64', '{{base64Encode "hi there"}} {{base64Decode "aGkgdGhlcmU="}}', 'aGkgdGhlcmU= hi there'],
  ['datetime', '{{datetime.Format "2006-01-02T15:04:05Z07:00"}} {{datetime.Unix}}', '2024-02-03T04:05:06Z 1706933106'],
  [
    'atoi and arithmetic',
    '{{add (atoi "40") 2}} {{sub 1 3}} {{mul 6 7}} {{div 7 2}} {{div -7 2}} {{mod 7 3}}',
    '42 -2 42 3 -3 1',
  ],
  ['seq', '{{range seq 1 3}}{{.}}{{end}}|{{seq 3 1}}', '123|[]'],
  [
    'reverse',
    '{{reverse (ls "/global")}} {{range reverse (gets "/host/*/ip_addr_v4")}}{{.Value}};{{end}}',
    '[node_mesh list as_num] 10.0.0.2;10.0.0.1;',
  ],
  ['sortByLength', '{{sortByLength (split "ccc,a,bb,b" ",")}}', '[a b bb ccc]'],
  [
    'sortKVByLength',
    '{{range sortKVByLength (gets "/global/*")}}{{.Key}};{{end}}',
    '/global/list;/global/as_num;/global/node_mesh;',
  ],
  ['parseBool', '{{parseBool "true"}} {{parseBool "0"}}', 'true false'],
  ['trimSuffix', '{{trimSuffix "a.conf" ".conf"}} {{trimSuffix "a" ".conf"}}', 'a a'],
  ['fileExists', '{{fileExists "/"}} {{fileExists "/no/such/file/here"}}', 'true false'],
  ['compareIP', '{{compareIP "10.0.0.9" "10.0.0.10"}} {{compareIP "fd00::2" "fd00::1"}}', '-1 1'],
];

describe('confd functions', () => {
  it.each(cases)('%s', (_n, text, want) => {
    expect(render(text, { NODENAME: 'node-a' })).toBe(want);
  });

  const errors: Array<[string, string]> = [
    ['{{getv "/nope"}}', 'error calling getv: key does not exist: /nope'],
    ['{{get "/nope"}}', 'error calling get: key does not exist: /nope'],
    ['{{json "[1]"}}', 'error calling json: json: value is not a JSON object'],
    ['{{json "{bad"}}', 'error calling json:'],
    ['{{map "a"}}', 'error calling map: invalid map call'],
    ['{{map 1 2}}', 'error calling map: map keys must be strings'],
    ['{{base64Decode "!!"}}', 'error calling base64Decode: illegal base64 data'],
    ['{{getv}}', 'wrong number of args for getv: want at least 1 got 0'],
    ['{{parseBool "yes"}}', 'error calling parseBool: strconv.ParseBool: parsing "yes": invalid syntax'],
    ['{{div 1 0}}', 'error calling div: integer divide by zero'],
    ['{{add 1 "2"}}', 'error calling add: add: expected an integer'],
    ['{{getv "a" "b" "c"}}', 'wrong number of args for getv: want at most 2 got 3'],
    ['{{compareIP "x" "10.0.0.1"}}', 'error calling compareIP: not an IP address: "x"'],
    ['{{len (seq 1 1000000000000)}}', 'error calling seq: seq: at most 1000000 numbers, asked for 1000000000000'],
  ];
  it.each(errors)('error %s', (text, message) => {
    expect(() => render(text)).toThrow(message);
  });
});

describe('compareIP', () => {
  it('orders numerically, not as strings', () => {
    expect(compareIP('10.0.0.10', '10.0.0.9')).toBe(1);
    expect(compareIP('10.0.0.9', '10.0.0.9')).toBe(0);
    expect(compareIP('fd00::a', 'fd00:0:0:0:0:0:0:9')).toBe(1);
    expect(compareIP('1.2.3.4', '::1')).toBe(-1);
  });
});
