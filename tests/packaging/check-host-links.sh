#!/bin/sh
# check-host-links.sh PROGRAM: PROGRAM (passdesk-hostd) links none of the
# guest's libraries (libva, libdrm, GTK/GDK, libpulse, libusb, libgudev,
# polkit, json-glib), only GLib/GIO and the C library: what lets the host
# package install on Proxmox VE without them. Reads `ldd`.
set -u
libs=$(ldd "$1") || { echo "ldd $1 failed"; exit 1; }
echo "$libs"
echo "$libs" | grep -q 'libglib-2\.0\.so' || { echo "no libglib-2.0 in ldd's answer: not the program expected"; exit 1; }
bad=$(echo "$libs" | grep -E 'lib(va|va-drm|drm|gtk-3|gdk-3|pulse|pulse-mainloop-glib|usb-1\.0|gudev-1\.0|polkit-gobject-1|json-glib-1\.0)\.so')
if [ -n "$bad" ]; then
    echo "$1 links guest libraries:"
    echo "$bad"
    exit 1
fi
echo "ok: no guest library"
