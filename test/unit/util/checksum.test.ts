import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { internetChecksum } from '../../../src/util/checksum.js';

test('internetChecksum reproduces the digest VRRPv3 vector (0x082d with pseudo-header, 0xf2c6 without)', () => {
  const vrrp = Buffer.from('3102960300640000b9cb70010a0000010a000801', 'hex');
  const pseudo = Buffer.from('0a000003e0000012' + '0070' + '0014', 'hex');
  assert.equal(internetChecksum(pseudo, vrrp), 0x082d);
  assert.equal(internetChecksum(vrrp), 0xf2c6);
});

test('a buffer with its checksum filled in sums to zero (odd lengths and split buffers too)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 64 }), fc.nat(64), (bytes, cut) => {
      const b = Buffer.concat([Buffer.from(bytes), Buffer.alloc(bytes.length % 2), Buffer.alloc(2)]);
      b.writeUInt16BE(internetChecksum(b), b.length - 2);
      const k = Math.min(cut, b.length);
      return internetChecksum(b) === 0 && internetChecksum(b.subarray(0, k - (k % 2)), b.subarray(k - (k % 2))) === 0;
    }),
  );
});
