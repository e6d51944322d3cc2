"""What the German tests share: a de_DE.UTF-8 locale that does not depend on
the machine, the English sentences of the "passdesk" domain, and the check
that a text holds none of them.

The English side comes from the sources themselves (xgettext with the
arguments po/meson.build gives it), so a sentence added without a German
translation, or printed without _(), fails the check.
"""
import json
import os
import re
import subprocess
import tempfile

BUILDDIR = os.environ.get('PASSDESK_BUILDDIR', os.path.join(os.path.dirname(__file__), '..', '..', 'build'))
SRCDIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
LOCALEDIR = os.path.join(BUILDDIR, 'po')
LOCALE = 'de_DE.UTF-8'

_FORMAT = re.compile(r"%(?:\d+\$)?[-+ #0']*\d*(?:\.\d+|\.\*)?(?:hh|h|ll|l|z|j|t)?[diuxXocsfgeEG%]|\n")


def german_env():
    """Environment for a German run. de_DE.UTF-8 is compiled into a private
    LOCPATH (as Debian's locale-gen does with localedef) unless the system
    already has it."""
    env = dict(os.environ)
    for k in ('LC_ALL', 'LC_MESSAGES', 'LANGUAGE'):
        env.pop(k, None)
    have = subprocess.run(['locale', '-a'], capture_output=True, text=True).stdout.split()
    if 'de_DE.utf8' not in have and 'de_DE.UTF-8' not in have:
        locpath = os.path.join(tempfile.gettempdir(), f'passdesk-locales-{os.getuid()}')
        if not os.path.isdir(os.path.join(locpath, LOCALE)):
            os.makedirs(locpath, exist_ok=True)
            subprocess.run(['localedef', '-i', 'de_DE', '-f', 'UTF-8', os.path.join(locpath, LOCALE)],
                           check=True, capture_output=True)
        env['LOCPATH'] = locpath
    env['LANG'] = LOCALE
    env['PASSDESK_LOCALEDIR'] = LOCALEDIR
    return env


def _po_entries(text):
    entries = []
    for block in re.split(r'\n\s*\n', text):
        d = {}
        cur = None
        for line in block.split('\n'):
            m = re.match(r'(msgctxt|msgid|msgid_plural|msgstr(?:\[\d\])?) (".*")$', line)
            if m:
                cur = m.group(1)
                d[cur] = json.loads(m.group(2))
            elif line.startswith('"') and cur:
                d[cur] += json.loads(line)
        if d.get('msgid'):
            entries.append(d)
    return entries


def _pot():
    meson = open(os.path.join(SRCDIR, 'po', 'meson.build')).read()
    args = re.findall(r"'(--[^']*)'", meson)
    with tempfile.NamedTemporaryFile(suffix='.pot') as pot:
        subprocess.run(['xgettext', '--keyword=_', '--keyword=N_', '--keyword=C_:1c,2',
                        '--keyword=NC_:1c,2', '--keyword=g_dngettext:2,3', *args,
                        '-D', SRCDIR, '-f', os.path.join(SRCDIR, 'po', 'POTFILES'),
                        '-o', pot.name], check=True, capture_output=True)
        return open(pot.name, encoding='utf-8').read()


def english_fragments():
    """Pieces of English msgids (between conversions and line breaks) of at
    least two words, less those that a German translation keeps as they are
    (commands, paths, names)."""
    german = ' '.join(v for e in _po_entries(open(os.path.join(SRCDIR, 'po', 'de.po'),
                                                   encoding='utf-8').read())
                      for k, v in e.items() if k.startswith('msgstr'))
    frags = set()
    for e in _po_entries(_pot()):
        for key in ('msgid', 'msgid_plural'):
            for piece in _FORMAT.split(e.get(key) or ''):
                piece = piece.strip(' .,;:()“”"\'-')
                if len(piece) < 10 or len(re.findall(r'[A-Za-z]{2,}', piece)) < 2:
                    continue
                if piece in german:
                    continue
                frags.add(piece)
    return frags


# Words of English sentences that German never uses: a line with two of
# them is an English sentence even when no msgid knows it (a string printed
# without _()).
_ENGLISH_WORDS = {'the', 'is', 'are', 'to', 'of', 'and', 'not', 'cannot', 'with',
                  'this', 'that', 'has', 'have', 'does', 'could', 'be'}


# Common English words that are not also German words ("in", "an", "so",
# "was", "will", "die", "also", "fast", "still", "start", "stop", "status",
# "host" are left out): a line of prose whose words are mostly these is an
# English sentence, whichever program made it (the host's sentences come
# from passdesk-hostd, which the msgid fragments above only cover when they
# were marked and not put together from pieces).
_COMMON_ENGLISH = set("""
a about after again against all allowed already although am and another any are as asked at
available be because been before being below between both but by can cannot changed check
checks could did do does doing done down during each either enough every failed few find first
for found from further get gets gives go going had has have having he her here his how however
if into is it its itself just keep keeps last later least left less like look made make makes
many may me might more most must my need needs never new next no none nor now of off often on
once one only or other our out over own per please rather read ready really reason right run
running same see seems shall she should shut shutting since some started starting stopped such
than that the their them then there these they this those though through times to too try
turned under until up upon us use used using very wait waited want was were what when where
which while who why with within without would yet you your
after day days hour hours minute minutes second seconds again anyway already
""".split())
_WORD = re.compile(r"(?<![\w/=.`'-])[A-Za-zÄÖÜäöüß]+(?![\w/=`-])")


def mostly_english(line):
    """The English words of @line when at least three of its words, and half
    of them or more, are common English words; else []."""
    words = [w.lower() for w in _WORD.findall(line)]
    english = [w for w in words if w in _COMMON_ENGLISH]
    if len(words) >= 4 and len(english) >= 3 and 2 * len(english) >= len(words):
        return english
    return []


# GTK 3 leaves a dialog's button labels to the program: a line that is
# nothing but one of these is an English button ("yes" and "no" are values
# programs read, e.g. hdmi-codec-present).
_ENGLISH_LABELS = {'cancel', 'close', 'copy', 'quit', 'retry', 'apply', 'save',
                   'open', 'help', 'settings'}


class EnglishChecker:
    def __init__(self):
        self.frags = sorted(english_fragments(), key=len, reverse=True)

    def english_in(self, text):
        """[(line, why)] for each line holding an English sentence."""
        found = []
        for line in text.splitlines():
            for f in self.frags:
                if f in line:
                    found.append((line, f))
                    break
            else:
                if line.replace('_', '').strip(' .…').lower() in _ENGLISH_LABELS:
                    found.append((line, 'English label'))
                    continue
                words = set(re.findall(r"[a-z]+", line.lower())) & _ENGLISH_WORDS
                if len(words) >= 2:
                    found.append((line, 'English words ' + ', '.join(sorted(words))))
                    continue
                common = mostly_english(line)
                if common:
                    found.append((line, 'mostly English words ' + ', '.join(common)))
        return found
