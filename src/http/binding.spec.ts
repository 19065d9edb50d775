import { describe, expect, it } from '@jest/globals';
import { network } from './binding.js';

describe('network (binding: ip)', () => {
  it.each([
    ['203.0.113.7', '203.0.113'],
    ['::ffff:203.0.113.7', '203.0.113'],
    ['2001:db8:85a3:1:2:3:4:5', '2001:db8:85a3:1'],
    ['2001:db8::1', '2001:db8:0:0'],
    ['2001:0db8:0000:0000:0000::1', '2001:db8:0:0'],
    ['::1', '0:0:0:0'],
    ['fe80::1%eth0', 'fe80:0:0:0'],
    ['not an ip', 'not an ip'],
  ])('%s is in %s', (address, expected) => {
    expect(network(address)).toBe(expected);
  });

  it('same /24 and /64 match; the next ones do not', () => {
    expect(network('198.51.100.1')).toBe(network('198.51.100.254'));
    expect(network('198.51.100.1')).not.toBe(network('198.51.101.1'));
    expect(network('2001:db8:1:2:aaaa::1')).toBe(network('2001:db8:1:2:bbbb::2'));
    expect(network('2001:db8:1:2::1')).not.toBe(network('2001:db8:1:3::1'));
  });
});
