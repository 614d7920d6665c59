import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createClientAddress } from '../../src/auth/client-address.js';
import { parseIpAddress } from '../../src/auth/ip-address.js';
import { createProxyMatcher, parseTrustedProxies, type ProxyRange } from '../../src/auth/trusted-proxies.js';

// Made inside the suites, so that a parser that throws fails them rather than the loading of this file.
const trusted = (): ProxyRange[] => parseTrustedProxies('10.0.0.0/8, fd00::/8').ranges;

function request(remoteAddress: string | undefined, headers: Record<string, string> = {}): IncomingMessage {
  const lower = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
  return { socket: { remoteAddress }, headers: lower } as unknown as IncomingMessage;
}

describe('parseTrustedProxies', () => {
  it('reads addresses and CIDRs of both families, and names every entry that is neither', () => {
    assert.deepEqual(parseTrustedProxies(' 10.0.0.0/8,192.168.1.10 , FD00::/8, ::1, ::ffff:172.16.0.0/108 '), {
      ranges: [
        { network: '10.0.0.0', prefix: 8, family: 'ipv4' },
        { network: '192.168.1.10', prefix: 32, family: 'ipv4' },
        { network: 'fd00::', prefix: 8, family: 'ipv6' },
        { network: '::1', prefix: 128, family: 'ipv6' },
        { network: '172.16.0.0', prefix: 12, family: 'ipv4' },
      ],
      bad: [],
    });
    assert.deepEqual(parseTrustedProxies(''), { ranges: [], bad: [] });
    assert.deepEqual(parseTrustedProxies(',192.0.2.1/32,, 0.0.0.0/0 ,::/0,::1/128,'), {
      ranges: [
        { network: '192.0.2.1', prefix: 32, family: 'ipv4' },
        { network: '0.0.0.0', prefix: 0, family: 'ipv4' },
        { network: '::', prefix: 0, family: 'ipv6' },
        { network: '::1', prefix: 128, family: 'ipv6' },
      ],
      bad: [],
    }, 'empty entries are no entries; a prefix from 0 to all the bits');
    assert.deepEqual(
      parseTrustedProxies('10.0.0.0/33, fd00::/129, localhost, 10.0.0.0/8/8, 10.0.0/8, 10.0.0.0/, 10.0.0.0/-1, ::ffff:10.0.0.0/95, 10.0.0.0/ 8, 10.0.0.0/1e1, 10.0.0.0/0x8').bad,
      ['10.0.0.0/33', 'fd00::/129', 'localhost', '10.0.0.0/8/8', '10.0.0/8', '10.0.0.0/', '10.0.0.0/-1', '::ffff:10.0.0.0/95', '10.0.0.0/ 8', '10.0.0.0/1e1', '10.0.0.0/0x8'],
    );
  });

  it('matches addresses inside each range only', () => {
    const isTrusted = createProxyMatcher(trusted());
    const check = (text: string): boolean => isTrusted(parseIpAddress(text)!);
    assert.deepEqual(['10.1.2.3', '11.0.0.1', 'fd12::1', 'fe80::1', '::ffff:10.9.9.9'].map(check), [true, false, true, false, true]);
  });

  it('never trusts an IPv4 peer for an IPv6 range, not even one that covers the IPv4-mapped addresses', () => {
    for (const range of ['::/0', '::/64', '::fffe:0:0/95']) {
      const isTrusted = createProxyMatcher(parseTrustedProxies(range).ranges);
      assert.equal(isTrusted(parseIpAddress('1.2.3.4')!), false, range);
      assert.equal(isTrusted(parseIpAddress('::ffff:1.2.3.4')!), false, range);
    }
    assert.equal(createProxyMatcher(parseTrustedProxies('::/0').ranges)(parseIpAddress('2001:db8::1')!), true);
    assert.equal(createClientAddress(parseTrustedProxies('::/0').ranges)(request('1.2.3.4', { 'X-Forwarded-For': '9.9.9.9' })), '1.2.3.4');
  });
});

describe('the client address', () => {
  const clientOf = createClientAddress(trusted());

  it('is the peer itself when the peer is not a trusted proxy, whatever headers it sends', () => {
    const headers = { 'X-Forwarded-For': '198.51.100.7', Forwarded: 'for=198.51.100.7' };
    assert.equal(clientOf(request('203.0.113.9', headers)), '203.0.113.9');
    assert.equal(createClientAddress([])(request('10.0.0.2', headers)), '10.0.0.2', 'with no trusted proxies, no header counts');
    assert.equal(clientOf(request('::ffff:203.0.113.9', headers)), '203.0.113.9', 'an IPv4-mapped peer is its IPv4 address');
    assert.equal(clientOf(request('::FFFF:203.0.113.199', headers)), '203.0.113.199');
    assert.equal(clientOf(request('2001:DB8:0:0::9', headers)), '2001:db8::9');
    assert.equal(clientOf(request(undefined, headers)), 'unknown', 'a socket already closed has no address');
  });

  it('is the rightmost hop of X-Forwarded-For that is not a trusted proxy', () => {
    const via = (header: string, peer = '10.0.0.2'): string => clientOf(request(peer, { 'X-Forwarded-For': header }));
    assert.equal(via('6.6.6.6, 198.51.100.7, 10.0.0.1'), '198.51.100.7', 'past a second trusted proxy, not the forged first hop');
    assert.equal(via('198.51.100.7', '::ffff:10.0.0.2'), '198.51.100.7', 'an IPv4-mapped proxy is trusted as its IPv4 address');
    assert.equal(via('10.0.0.5, 10.0.0.1'), '10.0.0.5', 'all trusted: the farthest one');
    assert.equal(via('198.51.100.7:5000'), '198.51.100.7');
    assert.equal(via('[2001:DB8::7]:4711'), '2001:db8::7');
    assert.equal(via('2001:db8:0:0::7'), '2001:db8::7');
    assert.equal(via('::ffff:198.51.100.7'), '198.51.100.7');
  });

  it('is the rightmost hop of Forwarded that is not a trusted proxy, quoted (with escapes), bracketed or with a port, past empty elements and pairs', () => {
    const via = (header: string): string => clientOf(request('10.0.0.2', { Forwarded: header }));
    assert.equal(via('for=192.0.2.60;proto=http;by=203.0.113.43'), '192.0.2.60');
    assert.equal(via('for=6.6.6.6, For="[2001:db8:cafe::17]:4711"'), '2001:db8:cafe::17');
    assert.equal(via('for=6.6.6.6, for="198.51.100.7:80";host="a,b;c", for=10.0.0.1'), '198.51.100.7');
    assert.equal(via('for=[2001:db8::1]:80'), '2001:db8::1', 'brackets without the quotes RFC 7239 asks for');
    assert.equal(via(' , for=198.51.100.7 ,'), '198.51.100.7', 'empty list elements are no hops');
    assert.equal(via('for=198.51.100.7, , for=10.0.0.1'), '198.51.100.7', 'an empty element between two is no hop either');
    assert.equal(via(';for=198.51.100.7;;proto=https;'), '198.51.100.7', 'empty pairs, which RFC 7239 allows');
    assert.equal(via('for="\\[2001:db8::17\\]:4711"'), '2001:db8::17', 'a quoted-pair stands for the character it escapes');
    assert.equal(via('for=198.51.100.7;ext="a\\ b\\"c"'), '198.51.100.7', 'any character may be escaped in a quoted string');
    assert.equal(via('for=6.6.6.6;ext="unterminated, for=198.51.100.7'), '198.51.100.7', "a client's garbage does not hide its proxy's element");
  });

  it('stops at the trusted proxy that passed on a hop that names no address', () => {
    const via = (headers: Record<string, string>): string => clientOf(request('10.0.0.2', headers));
    for (const header of ['for=unknown', 'for=_hidden', 'for="_gazonk"', 'proto=https', 'for=2001:db8::1', 'for="[1.2.3.4]"',
      'for=1.2.3.4;for=5.6.7.8', 'for="x', '"', 'for=999.1.1.1', 'for="[fe80::1%25eth0]"', '=', ';;=;',
      // Garbage after a pair, or before a pair that a client forged: the whole element is unreadable.
      'for=198.51.100.7"', 'x="y for=198.51.100.7', 'for="x[2001:db8::1]"', 'for="[2001:db8::1]:123456"']) {
      assert.equal(via({ Forwarded: `for=6.6.6.6, ${header}` }), '10.0.0.2', header);
    }
    for (const header of ['unknown', '', 'not an address', '1.2.3.4.5', '[1.2.3.4]:80', '1.2.3.4:port']) {
      assert.equal(via({ 'X-Forwarded-For': `6.6.6.6, ${header}` }), '10.0.0.2', header);
    }
    assert.equal(via({ 'X-Forwarded-For': '6.6.6.6, garbage, 10.0.0.1' }), '10.0.0.1', 'the inner proxy that received the garbage');
  });

  it('believes neither header when Forwarded and X-Forwarded-For name different clients', () => {
    const both = (forwarded: string, xForwardedFor: string): string => clientOf(request('10.0.0.2', { Forwarded: forwarded, 'X-Forwarded-For': xForwardedFor }));
    assert.equal(both('for=198.51.100.7', '203.0.113.9'), '10.0.0.2');
    assert.equal(both('for=198.51.100.7', '198.51.100.7'), '198.51.100.7');
    assert.equal(both('for="[2001:db8::7]"', '2001:DB8::7'), '2001:db8::7', 'the same address spelt two ways agrees');
  });

  it('lets no client behind a trusted proxy choose its own address, whatever it sends', () => {
    const isTrusted = createProxyMatcher(trusted());
    const realClient = fc.oneof(fc.ipV4(), fc.ipV6()).filter((text) => !isTrusted(parseIpAddress(text)!));
    const anything = fc.option(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('for="', 'a="', 'for=1.2.3.4;', '[', '"x\\"'), fc.ipV4()));
    fc.assert(
      fc.property(realClient, anything, anything, (real, sentForwarded, sentXForwardedFor) => {
        const expected = parseIpAddress(real)!.address;
        const node = real.includes(':') ? `"[${real}]"` : real;
        // The proxy appends the peer it saw to X-Forwarded-For and passes the client's Forwarded on.
        const appended = sentXForwardedFor === null ? real : `${sentXForwardedFor}, ${real}`;
        const onlyXff = clientOf(request('10.0.0.2', { 'X-Forwarded-For': appended }));
        assert.equal(onlyXff, expected);
        const withForged = clientOf(request('10.0.0.2', { 'X-Forwarded-For': appended, ...(sentForwarded === null ? {} : { Forwarded: sentForwarded }) }));
        assert.ok(withForged === expected || withForged === '10.0.0.2', `${withForged} for ${JSON.stringify(sentForwarded)}`);
        // A proxy that appends to Forwarded: a client's garbage can at worst send it to the proxy's budget.
        const forwarded = sentForwarded === null ? `for=${node}` : `${sentForwarded}, for=${node}`;
        const viaForwarded = clientOf(request('10.0.0.2', { Forwarded: forwarded }));
        assert.ok(viaForwarded === expected || viaForwarded === '10.0.0.2', `${viaForwarded} for ${JSON.stringify(forwarded)}`);
        assert.notEqual(isIP(viaForwarded), 0);
      }),
      { numRuns: 2000 },
    );
  });
});
