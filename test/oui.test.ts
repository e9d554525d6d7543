import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { describeMac } from '../src/oui/lookup.js';

describe('MAC vendors from the IEEE registry', () => {
  it('MA-L: F5 and Cisco', () => {
    expect(describeMac(0x0001d72a1001).vendor).toBe('F5 Inc.');
    expect(describeMac(0x00000c123456).vendor).toMatch(/^Cisco Systems/);
  });
  it('longest prefix first: an MA-S block beats its MA-L parent', () => {
    // 70:B3:D5 is the IEEE Registration Authority's own MA-L; 70:B3:D5:00:1 is an MA-S block assigned to a company
    expect(describeMac(0x70b3d5001123).vendor).not.toMatch(/IEEE Registration Authority/);
    expect(describeMac(0x70b3d5001123).vendor).not.toBeNull();
    expect(describeMac(0x70b3d5000123).vendor).toMatch(/IEEE Registration Authority/);
  });
  it('marks VRRP, HSRP and locally administered addresses', () => {
    expect(describeMac(0x00005e000107).note).toBe('VRRP virtual router, VRID 7');
    expect(describeMac(0x00000c07ac0a).note).toBe('HSRP virtual MAC, group 10');
    expect(describeMac(0x525400123456)).toEqual({ vendor: null, note: 'locally administered (random or virtual)' });
  });
  it('the binary search over the registry file finds what parsing all of it finds, for every prefix', () => {
    const all = createRequire(import.meta.url)('oui-data') as Record<string, string>;
    const wrong: string[] = [];
    let checked = 0;
    for (const k of Object.keys(all)) {
      const hex = k.padEnd(12, '0');
      if (parseInt(hex.slice(0, 2), 16) & 3) continue; // multicast / locally administered: no vendor looked up
      const want = (all[hex.slice(0, 9)] ?? all[hex.slice(0, 7)] ?? all[hex.slice(0, 6)]).split('\n')[0].trim();
      if (describeMac(parseInt(hex, 16)).vendor !== want) wrong.push(k);
      checked++;
    }
    expect(wrong).toEqual([]);
    expect(checked).toBeGreaterThan(50000);
  });
});
