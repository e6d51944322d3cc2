#!/usr/bin/python3
"""passdesk in German (LANG=de_DE.UTF-8): the CLI (help, errors, `passdesk
status` on fixture trees, in-process and through the agent), the agent's
GetComponents in the caller's language, and passdesk-hostd's help and
errors hold no English passdesk sentence and no mixed-language line; the
German catalogue is complete (msgfmt --check --statistics)."""
import os
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


class Agent(AgentTestCase):
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
