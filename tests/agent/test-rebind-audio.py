#!/usr/bin/python3
"""passdesk-rebind-audio on a copy of the Esprimo sysfs: it finds the
HD-Audio function bound to snd_hda_intel by itself (no argument a caller
could bend), writes its address to the driver's unbind then bind files, and
says what to do if that does not help. Prints TAP."""
import os
import shutil
import subprocess
import sys
import tempfile

BUILDDIR = os.environ['PASSDESK_BUILDDIR']
FIXTURES = os.environ['PASSDESK_TEST_FIXTURES']
EXE = os.path.join(BUILDDIR, 'agent', 'rebind', 'passdesk-rebind-audio')


def run(root, *args):
    env = dict(os.environ, PASSDESK_SYSROOT=root)
    return subprocess.run([EXE] + list(args), env=env, capture_output=True, text=True, timeout=30)


def tree(tmp, with_driver=True):
    root = os.path.join(tmp, 'root')
    shutil.copytree(os.path.join(FIXTURES, 'esprimo', 'sys'), os.path.join(root, 'sys'),
                    symlinks=True)
    drv = os.path.join(root, 'sys', 'bus', 'pci', 'drivers', 'snd_hda_intel')
    if with_driver:
        for f in ('unbind', 'bind'):
            open(os.path.join(drv, f), 'w').close()
    else:
        shutil.rmtree(drv)
    return root, drv


def main():
    n = failed = 0

    def check(name, ok, detail=''):
        nonlocal n, failed
        n += 1
        failed += 0 if ok else 1
        print(f'{"ok" if ok else "not ok"} {n} {name}')
        if not ok:
            print('# ' + str(detail).replace('\n', '\n# '))

    with tempfile.TemporaryDirectory() as tmp:
        root, drv = tree(tmp)
        r = run(root)
        got = [open(os.path.join(drv, f)).read() for f in ('unbind', 'bind')]
        check('rebinds the HD-Audio function it finds (unbind, then bind)',
              r.returncode == 0 and got == ['0000:00:1f.3', '0000:00:1f.3']
              and 'Rebound the HD-Audio function 0000:00:1f.3' in r.stdout, (r, got))
        r = run(root, '0000:00:02.0')
        check('takes no argument (exit 2)', r.returncode == 2 and 'Usage' in r.stderr, r)
    with tempfile.TemporaryDirectory() as tmp:
        root, drv = tree(tmp, with_driver=False)
        r = run(root)
        check('without an HD-Audio function bound: exit 3, says to cold-restart',
              r.returncode == 3 and 'Cold-restart the VM' in r.stderr, r)
    with tempfile.TemporaryDirectory() as tmp:
        root, drv = tree(tmp)
        os.unlink(os.path.join(drv, 'bind'))
        r = run(root)
        check('a failing write is an error that names the next step',
              r.returncode == 1 and 'cold-restart the VM' in r.stderr, r)
    print(f'1..{n}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
