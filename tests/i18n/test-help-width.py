#!/usr/bin/python3
"""Every program's --help fits an 80-column terminal, in English and in
German: GOption does not wrap, and German descriptions run longer than the
English ones the layout was made for (pd-terminal.h wraps them under their
own column). A word longer than the room may stand alone on its line."""
import os
import subprocess
import sys
import unicodedata
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from i18n_check import BUILDDIR, german_env  # noqa: E402

CLI = os.path.join(BUILDDIR, 'agent', 'cli', 'passdesk')
PROGRAMS = [
    [CLI, '--help'],
    [CLI, 'help', 'status'],
    [CLI, 'help', 'scan-log'],
    [CLI, 'help', 'watch'],
    [CLI, 'help', 'events'],
    [CLI, 'help', 'cold-restart'],
    [os.path.join(BUILDDIR, 'agent', 'daemon', 'passdesk-agent'), '--help'],
    [os.path.join(BUILDDIR, 'hostlink', 'hostd', 'passdesk-hostd'), '--help'],
]
TRAY = os.path.join(BUILDDIR, 'tray', 'passdesk-tray')
if os.path.exists(TRAY):
    PROGRAMS.append([TRAY, '--help'])


def columns(line):
    return sum(2 if unicodedata.east_asian_width(c) in 'WF' else 1 for c in line)


class HelpWidth(unittest.TestCase):
    def check(self, env, lang):
        for argv in PROGRAMS:
            r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)
            name = ' '.join([os.path.basename(argv[0])] + argv[1:])
            self.assertEqual(r.returncode, 0, f'{lang} {name}: {r.stderr}')
            self.assertIn('--', r.stdout, f'{lang} {name}: no options listed')
            for line in r.stdout.splitlines():
                if columns(line) > 80:
                    # Only a single word too long for the room may stick out.
                    self.assertEqual(len(line.split()), 1,
                                     f'{lang} {name}: {columns(line)} columns: {line!r}\n{r.stdout}')

    def test_english(self):
        env = dict(os.environ, LC_ALL='C.UTF-8')
        env.pop('COLUMNS', None)
        self.check(env, 'en')

    def test_german(self):
        env = german_env()
        env.pop('COLUMNS', None)
        self.check(env, 'de')


if __name__ == '__main__':
    unittest.main(verbosity=2)
