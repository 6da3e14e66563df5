/**
 * xl.cfg's I/O keys (disk, pci, driver_domain), read as xl reads them
 * (docs/misc/xl-disk-configuration.txt; tools/libs/util/libxlu_disk_l.l) and written back.
 */
import { describe, expect, it } from 'vitest';
import type { DomainConfig } from '../../core/api/index.js';
import { parseDiskSpec, parseXlCfg, toXlCfg } from '../../core/api/xlcfg.js';

function ok(text: string): DomainConfig {
  const r = parseXlCfg(text);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.domain;
}

function problems(text: string) {
  const r = parseXlCfg(text);
  if (r.ok) throw new Error('parsed: ' + JSON.stringify(r.domain));
  return r.problems;
}

function disk(spec: string) {
  const r = parseDiskSpec(spec);
  if (!r.ok) throw new Error(r.message);
  return r.disk;
}

function diskError(spec: string): string {
  const r = parseDiskSpec(spec);
  if (r.ok) throw new Error('parsed: ' + JSON.stringify(r.disk));
  return r.message;
}

describe('xl.cfg disk: the diskspec forms xl documents as equivalent', () => {
  // xl-disk-configuration.txt: "/dev/vg/guest-volume,,hda", "/dev/vg/guest-volume,raw,hda,rw",
  // "format=raw, vdev=hda, access=rw, target=/dev/vg/guest-volume" and "raw:/dev/vg/guest-volume,hda,w"
  // are the same disk; here with the lab's device and an xvd name.
  const want = { device: 'disk0', vdev: 'xvdb' };
  it.each([
    'disk0,,xvdb',
    'disk0,raw,xvdb,rw',
    'format=raw, vdev=xvdb, access=rw, target=disk0',
    'raw:disk0,xvdb,w',
    'phy:disk0,xvdb,w',
    'phy:/dev/disk0,xvdb,w',
    'vdev=xvdb, target=/dev/disk0',
    '  disk0 , raw , xvdb , w',
    'disk0,,xvdb:disk',
    'discard, disk0,,xvdb',
  ])('%s', (spec) => {
    expect(disk(spec)).toEqual(want);
  });

  it('backend= names the serving domain; it may come anywhere before target=', () => {
    expect(disk('backend=blkdd, vdev=xvda, target=disk0')).toEqual({ backend: 'blkdd', device: 'disk0', vdev: 'xvda' });
    expect(disk('disk1,,xvdc,rw,backend=dd2')).toEqual({ backend: 'dd2', device: 'disk1', vdev: 'xvdc' });
  });

  it('target= eats the rest of the spec, so what follows it is part of the target', () => {
    expect(diskError('target=disk0, vdev=xvda')).toBe('no vdev: it is mandatory (vdev=xvda)');
  });
});

describe('xl.cfg disk: what xl or the lab refuses, with the reason', () => {
  it.each([
    ['vdev=xvda', 'no target: give the machine device behind the disk (target=disk0)'],
    ['target=disk0', 'no vdev: it is mandatory (vdev=xvda)'],
    ['colour=red, vdev=xvda, target=disk0', 'unknown parameter "colour=" (xl knows target, format, vdev, access, devtype, backend, backendtype, script, and flags such as cdrom, discard)'],
    ['disk0,raw,xvda,rw,extra', 'too many positional parameters at "extra" (target, format, vdev, access)'],
    ['vdev=xvda, vdev=xvdb, target=disk0', 'vdev is given twice (each parameter at most once)'],
    ['foo:disk0,xvda,w', 'unknown deprecated disk prefix "foo:"'],
    ['disk0,qcow2,xvda', 'format "qcow2": the lab\'s disks are raw devices (image formats need qdisk, which is not modelled)'],
    ['disk0,,xvda,ro', 'access=ro: read-only virtual disks are not modelled; use rw'],
    ['disk0,,xvda,rx', 'unknown value for access "rx" (rw, w, ro or r)'],
    ['disk0,,hda', 'vdev "hda": xvda … xvdz'],
    ['/var/lib/xen/g.img,,xvda', 'target "/var/lib/xen/g.img": the lab\'s targets are machine devices by id (disk0 or /dev/disk0), not paths'],
    ['cdrom, vdev=xvda, target=disk0', 'cdrom: the lab has no CD-ROM drives, only disks'],
    ['backendtype=qdisk, vdev=xvda, target=disk0', 'backendtype "qdisk": the lab\'s backend is blkback (phy)'],
  ])('%s', (spec, message) => {
    expect(diskError(spec)).toBe(message);
  });

  it('a problem in a config names the disk key, its line, the entry and the spec', () => {
    const p = problems(`name = "g"\nmemory = 128\ndisk = [ 'vdev=xvda, target=disk0',\n  'target=disk1' ]\n`);
    expect(p).toEqual([{ line: 3, path: 'disk', message: "disk[1] 'target=disk1': no vdev: it is mandatory (vdev=xvda)" }]);
  });

  it('disk and pci must be lists of strings', () => {
    const p = problems(`name = "g"\ndisk = "disk0,,xvda"\npci = [ 3 ]\n`);
    expect(p.map((x) => [x.line, x.path])).toEqual([
      [2, 'disk'],
      [3, 'pci'],
    ]);
    expect(p[0]!.message).toMatch(/^disk is a list of strings/);
  });

  it('pci takes BDFs (short or long) and device ids; anything else is named', () => {
    expect(ok(`name = "dd"\npci = [ '03:00.0', '0000:03:01.0', 'disk2' ]\n`).pci).toEqual(['03:00.0', '0000:03:01.0', 'disk2']);
    const [p] = problems(`name = "dd"\npci = [ '03:00.0', '3:0.0' ]\n`);
    expect(p).toMatchObject({ line: 2, path: 'pci' });
    expect(p!.message).toMatch(/^pci\[1\] '3:0\.0': not a PCI address/);
  });

  it('driver_domain is 0 or 1 and changes nothing else; a native kernel has no disks', () => {
    expect(ok(`name = "dd"\ndriver_domain = 1\n`)).toEqual(ok(`name = "dd"\n`));
    expect(problems(`name = "dd"\ndriver_domain = 2\n`)[0]).toMatchObject({ line: 2, path: 'driver_domain', message: 'driver_domain is 0 or 1, not 2' });
    expect(problems(`name = "n"\ntype = "native"\ndisk = [ 'disk0,,xvda' ]\n`)[0]).toMatchObject({ path: 'disk' });
  });
});

describe('xl.cfg I/O: scenario → text → scenario', () => {
  it('a driver domain and a guest of it round-trip', () => {
    const dd = ok(`name = "blkdd"\ntype = "pv"\nmemory = 128\npci = [ '03:00.0' ]\ndriver_domain = 1\n`);
    expect(dd.pci).toEqual(['03:00.0']);
    const g = ok(`name = "web"\ndisk = [ 'backend=blkdd, vdev=xvda, target=disk0', 'disk1,,xvdb' ]\n`);
    expect(g.disks).toEqual([
      { backend: 'blkdd', device: 'disk0', vdev: 'xvda' },
      { device: 'disk1', vdev: 'xvdb' },
    ]);
    for (const d of [dd, g]) expect(ok(toXlCfg(d))).toEqual(d);
  });

  it('the text is xl\'s: a disk list of diskspecs, pci, driver_domain', () => {
    const text = toXlCfg(ok(`name = "web"\npci = [ 'disk1' ]\ndisk = [ 'backend=blkdd, vdev=xvda, target=disk0' ]\n`));
    expect(text).toContain('\ndisk = [ "backend=blkdd, vdev=xvda, target=disk0" ]\n');
    expect(text).toContain('\npci = [ "disk1" ]\ndriver_domain = 1\n');
  });
});

describe('xl.cfg vif', () => {
  it('reads xl vif specs onto vifs and writes them back', async () => {
    const { parseXlCfg, toXlCfg, parseVifSpec, formatVifSpec } = await import('../../core/api/xlcfg.js');
    expect(parseVifSpec('backend=netdd, bridge=nic0, mac=00:16:3e:0a:0b:0c, model=e1000, script=vif-bridge')).toEqual({ ok: true, vif: { backend: 'netdd', device: 'nic0', mac: '00:16:3e:0a:0b:0c' } });
    expect(parseVifSpec('bridge=nic0')).toEqual({ ok: true, vif: { device: 'nic0' } });
    // The lab's rx= key (the guest netfront's choice, which xl has no key for) round-trips.
    expect(parseVifSpec('bridge=nic0, rx=flip')).toEqual({ ok: true, vif: { device: 'nic0', rx: 'flip' } });
    expect(parseVifSpec(formatVifSpec({ device: 'nic0', rx: 'flip' }))).toEqual({ ok: true, vif: { device: 'nic0', rx: 'flip' } });
    const r = parseXlCfg('name = "web"\ntype = "pv"\nmemory = 256\nvif = [ "backend=netdd, bridge=nic0" ]\n');
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    expect(r.domain.vifs).toEqual([{ backend: 'netdd', device: 'nic0' }]);
    const back = parseXlCfg(toXlCfg(r.domain));
    expect(back.ok && back.domain.vifs).toEqual([{ backend: 'netdd', device: 'nic0' }]);
  });

  it('refuses a vif spec at the key, saying why', async () => {
    const { parseXlCfg, parseVifSpec } = await import('../../core/api/xlcfg.js');
    expect(parseVifSpec('backend=netdd')).toMatchObject({ ok: false, message: expect.stringContaining('bridge= is required') });
    expect(parseVifSpec('bridge=nic0, mac=01:00:5e:00:00:01')).toMatchObject({ ok: false, message: expect.stringContaining('unicast') });
    expect(parseVifSpec('bridge=nic0, colour=blue')).toMatchObject({ ok: false, message: expect.stringContaining('unknown key "colour"') });
    expect(parseVifSpec('bridge=nic0, rx=swap')).toMatchObject({ ok: false, message: expect.stringContaining('rx=copy') });
    const r = parseXlCfg('name = "web"\nvif = [ "mac=00:16:3e:00:00:01" ]\n');
    expect(r.ok ? [] : r.problems.map((p) => p.path)).toEqual(['vif']);
  });
});
