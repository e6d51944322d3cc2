#!/usr/bin/python3
'''The tray's icons where people see them. Prints TAP.

- The application's own icon (window title bar and taskbar, the menu entry)
  is org.passdesk.Tray, a neutral picture of our own in data/icons (hicolor,
  scalable/apps), not a state icon such as the green "ok" check.
- Run from the build tree with no icon variable set, the StatusNotifierItem
  names its IconThemePath (the build tree's icon folder), and a real panel
  (xfce4-panel's notification area, which is also the StatusNotifierWatcher)
  draws the state icon instead of an empty slot.
'''

import configparser
import glob
import os
import re
import shutil
import subprocess
import sys

from trayenv import SRCDIR, Tap, TrayEnv, wait_for  # noqa: E402

APP_ICON = 'org.passdesk.Tray'
GREEN = (0x2e, 0x9d, 0x4a)  # passdesk-ok's check
PANEL_XML = '''<?xml version="1.0" encoding="UTF-8"?>
<channel name="xfce4-panel" version="1.0">
  <property name="configver" type="int" value="2"/>
  <property name="panels" type="array">
    <value type="int" value="1"/>
    <property name="panel-1" type="empty">
      <property name="position" type="string" value="p=6;x=0;y=0"/>
      <property name="length" type="uint" value="100"/>
      <property name="position-locked" type="bool" value="true"/>
      <property name="icon-size" type="uint" value="24"/>
      <property name="size" type="uint" value="32"/>
      <property name="plugin-ids" type="array">
        <value type="int" value="1"/>
      </property>
    </property>
  </property>
  <property name="plugins" type="empty">
    <property name="plugin-1" type="string" value="systray"/>
  </property>
</channel>
'''


def near(px, colour, tol=30):
    return all(abs(a - b) < tol for a, b in zip(px, colour))


def net_wm_icon(env, title):
    """The largest image of the window's _NET_WM_ICON as (w, h, [(r, g, b, a)])."""
    out = subprocess.run(['xprop', '-name', title, '-notype', '-f', '_NET_WM_ICON', '32c',
                          ' = $0+', '_NET_WM_ICON'], env=env.env,
                         capture_output=True, text=True, timeout=30).stdout
    if '=' not in out:
        return None
    nums = [int(v) for v in re.findall(r'\d+', out.split('=', 1)[1])]
    best, i = None, 0
    if not nums:
        return None
    while i + 2 <= len(nums):
        w, h = nums[i], nums[i + 1]
        data = nums[i + 2:i + 2 + w * h]
        if w <= 0 or h <= 0 or len(data) < w * h:
            break
        if best is None or w > best[0]:
            best = (w, h, [((p >> 16) & 255, (p >> 8) & 255, p & 255, p >> 24) for p in data])
        i += 2 + w * h
    return best


def pixels(path):
    import gi
    gi.require_version('GdkPixbuf', '2.0')
    from gi.repository import GdkPixbuf
    pb = GdkPixbuf.Pixbuf.new_from_file(path)
    n, stride, px = pb.get_n_channels(), pb.get_rowstride(), pb.get_pixels()
    return [tuple(px[y * stride + x:y * stride + x + 3])
            for y in range(pb.get_height()) for x in range(0, pb.get_width() * n, n)]


def main():
    tap = Tap()

    def desktop_files():
        for name in ('org.passdesk.Tray.desktop', 'org.passdesk.Tray.autostart.desktop'):
            cp = configparser.ConfigParser(interpolation=None)
            cp.read(os.path.join(SRCDIR, 'data', name))
            assert cp['Desktop Entry']['Icon'] == APP_ICON, (name, cp['Desktop Entry']['Icon'])
        svg = os.path.join(SRCDIR, 'data', 'icons', 'hicolor', 'scalable', 'apps',
                           APP_ICON + '.svg')
        assert os.path.isfile(svg), svg
        with open(svg) as f:
            text = f.read()
        # Not a copy of a state icon.
        for state in glob.glob(os.path.join(SRCDIR, 'data', 'icons', 'hicolor', 'scalable',
                                            'status', '*.svg')):
            with open(state) as f:
                assert f.read() != text, state
    tap.run('the menu entries name org.passdesk.Tray, an icon of its own in hicolor/scalable/apps',
            desktop_files)

    env = TrayEnv(watcher=False, screen='1024x768x24')
    try:
        # xfce4-panel with only its notification area; xfconfd reads the
        # panel's layout from our config home (no first-run question).
        conf = os.path.join(env.env['XDG_CONFIG_HOME'], 'xfce4', 'xfconf',
                            'xfce-perchannel-xml')
        os.makedirs(conf)
        with open(os.path.join(conf, 'xfce4-panel.xml'), 'w') as f:
            f.write(PANEL_XML)
        xfconfd = glob.glob('/usr/lib/*/xfce4/xfconf/xfconfd')
        if not xfconfd or not shutil.which('xfce4-panel'):
            raise RuntimeError('xfce4-panel is not installed (.ci/packages/test.txt)')
        log = open(os.path.join(env.tmp, 'panel.log'), 'w')
        for argv in ([xfconfd[0]], ['xfce4-panel', '--disable-wm-check']):
            p = subprocess.Popen(argv, env=env.env, stdout=log, stderr=subprocess.STDOUT)
            env.procs.append(p)
            if argv[0] == xfconfd[0]:
                wait_for(lambda: env.session.name_has_owner('org.xfce.Xfconf'), 15, 'xfconfd')
        log.close()
        wait_for(lambda: env.session.name_has_owner('org.kde.StatusNotifierWatcher'), 30,
                 'the panel\'s StatusNotifierWatcher')
        env.set_all_ok()
        # As a developer runs it: from the build tree, no icon variable.
        env.start_tray('--status', unset=('PASSDESK_TRAY_ICON_DIR',))

        def icon_theme_path():
            wait_for(lambda: env.session.name_has_owner(env.item_name()), 20, 'the item')
            wait_for(lambda: str(env.item_prop('IconName')) == 'passdesk-ok', 20, 'the ok icon')
            path = str(env.item_prop('IconThemePath'))
            assert path, 'IconThemePath is empty'
            assert os.path.isfile(os.path.join(path, 'hicolor', 'scalable', 'status',
                                               'passdesk-ok.svg')), path
            # The menu's items name the same icons: the menu says where too.
            menu = env.session.get_object(env.item_name(), '/MenuBar')
            dirs = menu.Get('com.canonical.dbusmenu', 'IconThemePath',
                            dbus_interface='org.freedesktop.DBus.Properties')
            assert [str(d) for d in dirs] == [path], (dirs, path)
        tap.run('run from the build tree, IconThemePath names the build tree\'s icons',
                icon_theme_path)

        def panel_draws_it():
            # The panel is a 32-pixel strip at the top; the icon is the only
            # thing in it with the ok state's green.
            shot = os.path.join(env.tmp, 'panel.png')

            def green():
                subprocess.run(['import', '-window', 'root', '-crop', '1024x32+0+0', shot],
                               env=env.env, check=True, capture_output=True, timeout=30)
                return sum(1 for p in pixels(shot) if near(p, GREEN)) >= 40
            wait_for(green, 20, 'the ok icon drawn in the panel', interval=0.5)
        tap.run('a real panel (xfce4-panel) draws the state icon, not an empty slot',
                panel_draws_it)

        def window_icon():
            def icon():
                return net_wm_icon(env, 'passdesk status')
            w, h, px = wait_for(icon, 20, 'the status window\'s _NET_WM_ICON')
            opaque = [p for p in px if p[3] > 200]
            assert len(opaque) > w * h // 4, (w, h, len(opaque))
            green = sum(1 for p in opaque if near(p[:3], GREEN))
            blue = sum(1 for p in opaque if p[2] > p[0] + 40)
            assert green < len(opaque) // 50, ('the state\'s green check', green, len(opaque))
            assert blue > len(opaque) // 5, ('not the app icon', blue, len(opaque))
        tap.run('the window\'s icon (title bar, taskbar) is the app icon, not the ok check',
                window_icon)
    finally:
        if tap.failed:
            print('# tray log:\n# ' + env.tray_log_text().replace('\n', '\n# '))
            panel_log = os.path.join(env.tmp, 'panel.log')
            if os.path.exists(panel_log):
                with open(panel_log) as f:
                    print('# panel log:\n# ' + f.read().replace('\n', '\n# '))
        env.close()
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
