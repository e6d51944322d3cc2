#!/usr/bin/python3
'''A minimal XEmbed system tray (freedesktop System Tray spec) for the tests.

Owns _NET_SYSTEM_TRAY_S0 on $DISPLAY, announces itself with the MANAGER
client message, and docks every window that sends
SYSTEM_TRAY_REQUEST_DOCK by reparenting it into its own window (which is
what makes GtkPlug/GtkStatusIcon report "embedded"). Prints "ready", then
"docked <xid>" per icon. Plain Xlib through ctypes: no toolkit needed.
'''

import ctypes
import ctypes.util
import signal
import sys

x11 = ctypes.CDLL(ctypes.util.find_library('X11'))
Window = ctypes.c_ulong
Atom = ctypes.c_ulong


class XClientMessageEvent(ctypes.Structure):
    _fields_ = [('type', ctypes.c_int), ('serial', ctypes.c_ulong), ('send_event', ctypes.c_int),
                ('display', ctypes.c_void_p), ('window', Window),
                ('message_type', Atom), ('format', ctypes.c_int),
                ('data', ctypes.c_long * 5)]


class XEvent(ctypes.Union):
    _fields_ = [('type', ctypes.c_int), ('xclient', XClientMessageEvent),
                ('pad', ctypes.c_long * 24)]


x11.XOpenDisplay.restype = ctypes.c_void_p
x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
x11.XDefaultRootWindow.restype = Window
x11.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
x11.XInternAtom.restype = Atom
x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
x11.XCreateSimpleWindow.restype = Window
x11.XCreateSimpleWindow.argtypes = [ctypes.c_void_p, Window, ctypes.c_int, ctypes.c_int,
                                    ctypes.c_uint, ctypes.c_uint, ctypes.c_uint,
                                    ctypes.c_ulong, ctypes.c_ulong]
x11.XSetSelectionOwner.argtypes = [ctypes.c_void_p, Atom, Window, ctypes.c_ulong]
x11.XGetSelectionOwner.restype = Window
x11.XGetSelectionOwner.argtypes = [ctypes.c_void_p, Atom]
x11.XSendEvent.argtypes = [ctypes.c_void_p, Window, ctypes.c_int, ctypes.c_long,
                           ctypes.POINTER(XEvent)]
x11.XNextEvent.argtypes = [ctypes.c_void_p, ctypes.POINTER(XEvent)]
x11.XReparentWindow.argtypes = [ctypes.c_void_p, Window, Window, ctypes.c_int, ctypes.c_int]
x11.XMapWindow.argtypes = [ctypes.c_void_p, Window]
x11.XMapRaised.argtypes = [ctypes.c_void_p, Window]
x11.XFlush.argtypes = [ctypes.c_void_p]

CLIENT_MESSAGE = 33
STRUCTURE_NOTIFY_MASK = 1 << 17
REQUEST_DOCK = 0


def main():
    dpy = x11.XOpenDisplay(None)
    if not dpy:
        sys.exit('cannot open the display')
    root = x11.XDefaultRootWindow(dpy)
    win = x11.XCreateSimpleWindow(dpy, root, 0, 0, 200, 32, 0, 0, 0xffffff)
    x11.XMapRaised(dpy, win)
    selection = x11.XInternAtom(dpy, b'_NET_SYSTEM_TRAY_S0', 0)
    opcode = x11.XInternAtom(dpy, b'_NET_SYSTEM_TRAY_OPCODE', 0)
    manager = x11.XInternAtom(dpy, b'MANAGER', 0)
    x11.XSetSelectionOwner(dpy, selection, win, 0)
    if x11.XGetSelectionOwner(dpy, selection) != win:
        sys.exit('cannot own _NET_SYSTEM_TRAY_S0')
    ev = XEvent()
    ev.xclient.type = CLIENT_MESSAGE
    ev.xclient.window = root
    ev.xclient.message_type = manager
    ev.xclient.format = 32
    ev.xclient.data[0] = 0
    ev.xclient.data[1] = selection
    ev.xclient.data[2] = win
    x11.XSendEvent(dpy, root, 0, STRUCTURE_NOTIFY_MASK, ctypes.byref(ev))
    x11.XFlush(dpy)
    print('ready', flush=True)
    x = 0
    while True:
        x11.XNextEvent(dpy, ctypes.byref(ev))
        if ev.type == CLIENT_MESSAGE and ev.xclient.message_type == opcode \
                and ev.xclient.data[1] == REQUEST_DOCK:
            icon = ev.xclient.data[2] & 0xffffffff
            x11.XReparentWindow(dpy, icon, win, x, 0)
            x11.XMapWindow(dpy, icon)
            x11.XFlush(dpy)
            x += 32
            print(f'docked {icon:#x}', flush=True)


if __name__ == '__main__':
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    main()
