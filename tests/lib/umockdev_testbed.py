"""umockdev_testbed: the guide's Esprimo as umockdev devices, shared by the
agent's umockdev test and the agent benchmark."""
import struct

import gi
gi.require_version('UMockdev', '1.0')
from gi.repository import GLib, UMockdev  # noqa: E402


class Testbed:
    """The guide's Esprimo as umockdev devices: iGPU 8086:5912 with card0,
    renderD128 and two connectors; two xHCI root hubs."""

    def __init__(self):
        # The testbed announces devices it adds from its main context; the
        # tests announce them themselves (uevent), so keep that context apart
        # from the one the tests iterate for D-Bus signals.
        self.ctx = GLib.MainContext.new()
        self.ctx.push_thread_default()
        try:
            self.tb = UMockdev.Testbed.new()
        finally:
            self.ctx.pop_thread_default()
        self.devnum = {1: 1, 2: 1}
        tb = self.tb
        self.gpu = tb.add_device('pci', '0000:00:02.0', None,
                                 ['vendor', '0x8086\n', 'device', '0x5912\n', 'class', '0x030000\n'],
                                 ['PCI_CLASS', '30000', 'PCI_ID', '8086:5912',
                                  'PCI_SLOT_NAME', '0000:00:02.0', 'DRIVER', 'i915'])
        tb.set_attribute_link(self.gpu, 'driver', '../../bus/pci/drivers/i915')
        self.card = tb.add_device('drm', 'drm/card0', self.gpu, ['dev', '226:0\n'],
                                  ['DEVNAME', '/dev/dri/card0', 'DEVTYPE', 'drm_minor'])
        tb.add_device('drm', 'drm/renderD128', self.gpu, ['dev', '226:128\n'],
                      ['DEVNAME', '/dev/dri/renderD128', 'DEVTYPE', 'drm_minor'])
        self.hdmi = tb.add_device('drm', 'card0-HDMI-A-1', self.card,
                                  ['status', 'disconnected\n', 'enabled', 'disabled\n', 'modes', ''],
                                  ['DEVTYPE', 'drm_connector'])
        tb.add_device('drm', 'card0-DP-1', self.card,
                      ['status', 'disconnected\n', 'enabled', 'disabled\n', 'modes', ''],
                      ['DEVTYPE', 'drm_connector'])
        self.usb1 = self.add_usb('usb1', 1, 0x1d6b, 0x0002, 'xHCI Host Controller', '480', 9, None)
        self.usb2 = self.add_usb('usb2', 2, 0x1d6b, 0x0003, 'xHCI Host Controller', '5000', 9, None)

    def add_usb(self, name, bus, vid, pid, product, speed, cls, parent):
        self.devnum[bus] += 1
        devnum = self.devnum[bus]
        path = self.tb.add_device(
            'usb', name, parent,
            ['busnum', f'{bus}\n', 'devnum', f'{devnum}\n', 'idVendor', f'{vid:04x}\n',
             'idProduct', f'{pid:04x}\n', 'speed', f'{speed}\n', 'bDeviceClass', f'{cls:02x}\n',
             'product', f'{product}\n', 'dev', f'189:{(bus - 1) * 128 + devnum - 1}\n'],
            ['DEVTYPE', 'usb_device', 'DEVNAME', f'/dev/bus/usb/{bus:03d}/{devnum:03d}',
             'BUSNUM', f'{bus:03d}', 'DEVNUM', f'{devnum:03d}', 'PRODUCT', f'{vid:x}/{pid:x}/100'])
        bcd = 0x0300 if speed == '5000' else 0x0200
        desc = bytes([18, 1, bcd & 0xff, bcd >> 8, cls, 0, 0, 64]) + struct.pack('<HH', vid, pid) \
            + bytes([0, 1, 1, 2, 0, 1]) + bytes([9, 2, 9, 0, 0, 1, 0, 0xa0, 50])
        self.tb.set_attribute_binary(path, 'descriptors', desc)
        return path
