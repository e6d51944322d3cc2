#!/usr/bin/python3
"""passdesk in German (LANG=de_DE.UTF-8): the CLI (help, errors, `passdesk
status` on fixture trees, in-process and through the agent), the agent's
GetComponents in the caller's language, and passdesk-hostd's help and
errors hold no English passdesk sentence and no mixed-language line; the
German catalogue is complete (msgfmt --check --statistics).

Host: the sentences passdesk-hostd sends (in English, with their recipes,
hostlink/PROTOCOL.md section 1a) reach a German CLI in German: the real
passdesk-hostd (C locale, fake qm and fake QEMU as in
tests/hostlink/test-hostd-e2e.py) runs its doctor on the Esprimo host tree
whose hookscript is missing and talks to the real passdesk-agent (C locale)
on the fake QEMU's pty; `passdesk status` shows the host doctor's findings,
and `passdesk cold-restart` the host's rate-limit refusal."""
import importlib.util
import json
import os
import time
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
import i18n_check  # noqa: E402
from i18n_check import BUILDDIR, SRCDIR, german_env  # noqa: E402

# The agent reads LANG too (its own --help), and newlocale() needs LOCPATH.
GERMAN = german_env()
os.environ.update({k: v for k, v in GERMAN.items() if k in ('LOCPATH', 'PASSDESK_LOCALEDIR')})

from agent_harness import AgentTestCase, CLI  # noqa: E402
from gi.repository import GLib  # noqa: E402

HOSTD = os.path.join(BUILDDIR, 'hostlink', 'hostd', 'passdesk-hostd')
FIXTURES = os.environ.get('PASSDESK_TEST_FIXTURES', os.path.join(SRCDIR, 'tests', 'fixtures'))
CHECK = i18n_check.EnglishChecker()


def run(argv, **extra):
    env = dict(GERMAN)
    env.update(extra)
    r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    return r.stdout + r.stderr


class Catalogue(unittest.TestCase):
    def test_msgfmt_statistics(self):
        r = subprocess.run(['msgfmt', '--check', '--statistics', '-o', '/dev/null',
                            os.path.join(SRCDIR, 'po', 'de.po')],
                           capture_output=True, text=True, env=dict(os.environ, LC_ALL='C'))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn('untranslated', r.stderr)
        self.assertNotIn('fuzzy', r.stderr)

    def test_every_msgid_has_a_translation(self):
        # A sentence marked in the sources but missing from de.po is English
        # on a German desktop.
        de = {e['msgid'] for e in i18n_check._po_entries(
            open(os.path.join(SRCDIR, 'po', 'de.po'), encoding='utf-8').read())}
        missing = [e['msgid'] for e in i18n_check._po_entries(i18n_check._pot())
                   if e['msgid'] not in de]
        self.assertEqual(missing, [], 'not in po/de.po (run `meson compile passdesk-update-po`)')


class Cli(unittest.TestCase):
    def assert_german(self, text, what):
        self.assertTrue(text.strip(), f'{what}: no output')
        bad = CHECK.english_in(text)
        self.assertEqual(bad, [], f'{what}: English in German output:\n' +
                         '\n'.join(f'  {f!r} in {line!r}' for line, f in bad))

    def test_help(self):
        out = run([CLI, '--help'])
        self.assertIn('Aufruf', out)
        self.assert_german(out, 'passdesk --help')
        for cmd in ('status', 'scan-log', 'watch', 'events', 'cold-restart'):
            self.assert_german(run([CLI, cmd, '--help']), f'passdesk {cmd} --help')

    def test_errors(self):
        self.assert_german(run([CLI, 'status', '--jsn']), 'unknown option')
        self.assert_german(run([CLI, 'frobnicate']), 'unknown command')
        self.assert_german(run([CLI, 'scan-log', '/nonexistent/kern.log']), 'missing log')

    def test_status_on_fixture_trees(self):
        for fixture in ('esprimo', 'esprimo-no-hdmi-codec', 'all-disconnected'):
            out = run([CLI, 'status', '--local', '--no-vaprobe'],
                      PASSDESK_SYSROOT=os.path.join(FIXTURES, fixture))
            self.assertIn('KOMPONENTE', out)
            self.assert_german(out, f'passdesk status on {fixture}')

    def test_hostd(self):
        out = run([HOSTD, '--help'])
        self.assertIn('Aufruf', out)
        self.assert_german(out, 'passdesk-hostd --help')
        self.assert_german(run([HOSTD, '--config', '/nonexistent/hostd.conf', 'status']),
                           'passdesk-hostd with a missing config')
        self.assert_german(run([HOSTD, 'frobnicate']), 'passdesk-hostd unknown command')
        self.assert_german(run([HOSTD, 'setup', 'abc']), 'passdesk-hostd setup abc')

    def test_hostd_doctor_words(self):
        # The doctor's own words on the guide's Esprimo host, where qm cannot
        # run here: the labels and the summary in German, whole sentences
        # where pieces used to be put together in English, and GLib's
        # translated error with its quotes and umlauts intact (it was
        # "Kindprozess ??/usr/sbin/qm?? konnte nicht ausgef??hrt werden", and
        # "child process ???/usr/sbin/qm???" in English).
        import tempfile
        with tempfile.TemporaryDirectory() as trees:
            # Every tree the fixtures make: the guide's two hosts and their
            # broken variants, each in German without an English word.
            subprocess.run([os.path.join(FIXTURES, 'hosts', 'make-host-trees.py'), trees],
                           check=True, capture_output=True)
            for tree in sorted(os.listdir(trees)):
                self.assert_german(run([HOSTD, 'doctor', '--root', os.path.join(trees, tree)]),
                                   f'passdesk-hostd doctor on {tree}')
            argv = [HOSTD, 'doctor', '--root', os.path.join(trees, 'esprimo')]
            de = run(argv)
            en = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                                env=dict(os.environ, LC_ALL='C.UTF-8')).stdout
        self.assertNotIn('??', de)
        self.assertNotIn('??', en)
        self.assertIn('child process “/usr/sbin/qm”', en)
        self.assertIn('Abhilfe: ', de)
        self.assertNotIn('fix: ', de)
        self.assertIn('1 fehlgeschlagen, 1 Warnung, ', de)
        self.assertIn('Zuerst die fehlgeschlagenen Prüfungen beheben', de)
        self.assertIn('intel_iommu=on, wie in /etc/default/grub eingestellt.', de)
        self.assertIn('was die iGPU und die HD-Audio-Funktion nennt.', de)
        self.assertNotIn('as configured in', de)


class Checker(unittest.TestCase):
    """The check itself: whole English sentences are caught even when no
    msgid knows them (the host's, put together from pieces)."""

    def test_english_sentences(self):
        # None of these is (a piece of) a msgid, and none has two of the
        # words the older check looked for.
        for line in ('Running qm start for VM 100 now, please wait.',
                     'Keeping it off for 15 s, then starting it again.',
                     'Shutting down (qm shutdown, up to 180 s).'):
            self.assertTrue(CHECK.english_in(line), line)

    def test_german_sentences(self):
        for line in ('Die VM wurde heruntergefahren und wieder gestartet.',
                     'passdesk: Der Host hat abgelehnt: Diese VM darf höchstens einmal je 300 s '
                     'und 6-mal am Tag kalt neu gestartet werden',
                     'Proxmox-Host   Fehler   Der Host-Doktor hat 1 fehlgeschlagene Prüfung '
                     'gefunden',
                     'intel_iommu=on iommu=pt in /etc/default/grub eintragen, update-grub '
                     'ausführen und neu starten.'):
            self.assertEqual(CHECK.english_in(line), [], line)


def load_hostd_e2e():
    """The hostd test environment (fake qm, fake QEMU, hostd.conf) of
    tests/hostlink/test-hostd-e2e.py, as tests/tray/test-tray-host-e2e.py
    uses it."""
    path = os.path.join(SRCDIR, 'tests', 'hostlink', 'test-hostd-e2e.py')
    spec = importlib.util.spec_from_file_location('hostd_e2e', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class HostSentences:
    """passdesk-hostd's sentences in a German CLI (part of the Agent class:
    one dbusmock test class per process, whose buses the GDBus singletons
    keep)."""

    HOOK = '/var/lib/vz/snippets/vm100-hooks.sh'

    def start_host(self, rate_limited=True):
        polkitd, polkit = self.spawn_server_template('polkitd', {}, stdout=subprocess.DEVNULL)
        self.addCleanup(polkitd.wait)
        self.addCleanup(polkitd.terminate)
        polkit.SetAllowed(['org.passdesk.cold-restart'])
        e2e = load_hostd_e2e()
        # One cycle per 300 s; the state says one started a minute ago, so
        # the next request is refused for the rate limit.
        self.host = e2e.Env(vmids=(100,), pty=True,
                            conf='[vm 100]\nmin-interval=300\n' if rate_limited else '')
        self.addCleanup(self.host.close)
        self.host.env['LANG'] = 'C.UTF-8'  # an English host
        if rate_limited:
            os.makedirs(self.host.state, exist_ok=True)
            with open(os.path.join(self.host.state, 'hostd-state'), 'w') as f:
                f.write(f'[vm 100]\nhistory={int(time.time() * 1e6) - 60 * 10**6};\n'
                        'serial=1\n')
        trees = os.path.join(self.host.tmp, 'host')
        subprocess.run([os.path.join(SRCDIR, 'tests', 'fixtures', 'hosts', 'make-host-trees.py'),
                        trees, 'esprimo-hookscript-missing'], check=True)
        root = os.path.join(trees, 'esprimo-hookscript-missing')
        with open(os.path.join(root, 'etc/pve/qemu-server/100.conf')) as f:
            conf = f.read()
        self.host.write('100.conf', conf.replace('/run/qemu-server/', self.host.run + '/'))
        self.host.env['PASSDESK_HOST_ROOT'] = root
        port = os.path.join(self.host.guestdir, '100.port')
        self.wait_until(lambda: os.path.exists(port), 'the pty port')
        self.host.start_hostd()
        self.start_agent(['--no-vaprobe', '--hostlink-port', port], env={'LANG': 'C.UTF-8'})
        self.wait_until(lambda: self.english_components().get('host', {}).get('state') == 'failed',
                        'the host component failed (the doctor\'s report arrived)', timeout=60)

    def english_components(self):
        r = self.run_cli('status', '--json', env={'LANG': 'C.UTF-8'})
        try:
            return {c['id']: c for c in json.loads(r.stdout).get('components', [])}
        except ValueError:
            return {}

    def assert_german(self, out, what):
        bad = CHECK.english_in(out)
        self.assertEqual(bad, [], f'{what}: English in German output:\n' +
                         '\n'.join(f'  {f!r} in {line!r}' for line, f in bad) + '\n' + out)

    def test_status_shows_the_host_doctor_in_german(self):
        self.start_host()
        english = self.english_components()['host']
        self.assertTrue(any(f'({self.HOOK}) is missing' in a['text'] for a in english['advice']),
                        english['advice'])
        r = self.run_cli('status', env=GERMAN)
        out = r.stdout + r.stderr
        self.assertIn(self.HOOK, out)  # the finding is shown, with its path
        self.assert_german(out, 'passdesk status with the host doctor\'s findings')

    def test_progress_in_german(self):
        # An accepted cycle: passdesk-hostd's PROGRESS sentences ("Shutting
        # down (qm shutdown, up to 2 s)." ...) worded per caller by
        # GetColdRestartProgress; the signal stays English.
        logind_proc, _ = self.spawn_server_template('logind', {}, stdout=subprocess.DEVNULL)
        self.addCleanup(logind_proc.wait)
        self.addCleanup(logind_proc.terminate)
        self.start_host(rate_limited=False)
        start = len(self.signals)
        self.call('ColdRestart', GLib.Variant('(a{sv})', ({
            'locale': GLib.Variant('s', 'de_DE.UTF-8')},)))
        phase, english = self.wait_signal('ColdRestartProgress',
                                          lambda a: a[0] == 'shutting-down', start)
        self.assertIn('qm shutdown', english)
        self.assertTrue(CHECK.english_in(english), english)
        opts = GLib.Variant('(a{sv})', ({'locale': GLib.Variant('s', 'de_DE.UTF-8')},))
        phase, text = self.call('GetColdRestartProgress', opts)
        latest = [a for n, a in self.signals if n == 'ColdRestartProgress'][-1]
        self.assertEqual(phase, latest[0])
        self.assertTrue(text, (phase, text))
        self.assertEqual(CHECK.english_in(text), [], (phase, text, latest[1]))
        self.assertNotEqual(text, latest[1])

    def test_rate_limit_refusal_in_german(self):
        self.start_host()
        r = self.run_cli('cold-restart', '--yes', env=GERMAN)
        out = r.stdout + r.stderr
        self.assertNotEqual(r.returncode, 0, out)
        # The host's sentence, with its figures: at most once per 300 s.
        self.assertIn('300 s', out)
        self.assert_german(out, 'passdesk cold-restart refused for the rate limit')


class Agent(HostSentences, AgentTestCase):
    """The agent runs in the C locale; each client gets its own language."""

    def components(self, locale):
        opts = {'locale': GLib.Variant('s', locale)} if locale is not None else {}
        return self.call('GetComponents', GLib.Variant('(a{sv})', (opts,)))[0]

    @staticmethod
    def texts(components):
        out = []
        for cid, state, summary, details, advice in components:
            out.append(summary)
            out += [v for k, v in details]
            out += [t for t, c in advice]
        return '\n'.join(out)

    def test_get_components_in_the_callers_language(self):
        self.start_agent(['--no-vaprobe'], env={'LANG': 'C.UTF-8'})
        english = self.texts(self.components(None))
        self.assertTrue(CHECK.english_in(english), 'no locale asked: English expected')
        self.assertEqual(self.texts(self.components('C')), english)
        german = self.texts(self.components('de_DE.UTF-8'))
        bad = CHECK.english_in(german)
        self.assertEqual(bad, [], '\n'.join(f'  {f!r} in {line!r}' for line, f in bad))
        # The property stays English for old clients.
        self.assertEqual(self.texts(self.get_property('Components')), english)
        # Malformed locale names are English, not an error.
        self.assertEqual(self.texts(self.components('de_DE/../../x')), english)

    def test_status_through_the_agent(self):
        self.start_agent(['--no-vaprobe'], env={'LANG': 'C.UTF-8'})
        r = self.run_cli('status', env=GERMAN)
        out = r.stdout + r.stderr
        self.assertIn('(geprüft vom Agenten)', out)
        bad = CHECK.english_in(out)
        self.assertEqual(bad, [], '\n'.join(f'  {f!r} in {line!r}' for line, f in bad))


if __name__ == '__main__':
    unittest.main(verbosity=2)
