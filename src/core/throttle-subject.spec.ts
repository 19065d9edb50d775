import { describe, expect, it } from '@jest/globals';
import { ipBucket, normalizeUsername } from './throttle-subject.js';

describe('ipBucket', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['::FFFF:cb00:7107', '203.0.113.7'],
    ['0:0:0:0:0:ffff:cb00:7107', '203.0.113.7'],
    ['2001:db8:1:2::a', '2001:db8:1:2::/64'],
    ['2001:0DB8:0001:0002:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::', '0:0:0:0::/64'],
    ['2001:db8:1:2:3:4:192.0.2.1', '2001:db8:1:2::/64'],
  ])('%s → %s', (ip, bucket) => {
    expect(ipBucket(ip)).toBe(bucket);
  });

  it('leaves what is not an IP address as given, at most 64 characters', () => {
    expect(ipBucket('unknown')).toBe('unknown');
    expect(ipBucket('x'.repeat(100))).toBe('x'.repeat(64));
  });
});

describe('normalizeUsername', () => {
  it('trims, folds width and case', () => {
    for (const name of ['alice', ' ALICE ', 'ａｌｉｃｅ', 'Alice\t', 'AlIcE']) expect(normalizeUsername(name)).toBe('alice');
    for (const name of ['straße', 'STRASSE', 'STRAẞE', 'Strasse']) expect(normalizeUsername(name)).toBe('strasse');
    expect(normalizeUsername('ﬁle')).toBe('file');
    expect(normalizeUsername('bob')).not.toBe(normalizeUsername('alice'));
  });
});
