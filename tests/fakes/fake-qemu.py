#!/usr/bin/python3
"""fake-qemu.py: the QEMU side of the hostlink channel, for passdesk-hostd's tests.

For each VMID it follows fake-qm's state ($FAKE_QM_DIR/<vmid>.status): while
the VM "runs" it owns the listening socket SOCKDIR/<vmid>.passdesk, as QEMU's
`-chardev socket,server=on,wait=off` does (one host client at a time), and a
guest end GUESTDIR/<vmid>.guest: a listening unix socket standing in for the
guest's /dev/virtio-ports/org.passdesk.hostlink.0, where a scripted guest
connects. When the VM stops, both sockets go away and their connections
close; when it starts again they come back (new inodes, so hostd sees the
socket appear).

Relaying follows virtio-serial: what the guest writes while no host client
is connected is dropped; what the host writes while the guest has not opened
its port stays unread in the host socket until it does. Buffers are bounded
(a flooding side is simply not read while its peer lags).

With --pty, the guest end is a pty instead (GUESTDIR/<vmid>.port links to
its slave), as the real guest end (PdHostlinkGuest, `passdesk cold-restart
--port`) opens a character device; the guest counts as always there.

  fake-qemu.py [--pty] SOCKDIR GUESTDIR VMID...      (stops on SIGTERM)
"""
import os
import selectors
import tty
import signal
import socket
import sys

FAKE = os.environ["FAKE_QM_DIR"]
BUF_MAX = 256 * 1024


def vm_running(vmid):
    try:
        with open(os.path.join(FAKE, f"{vmid}.status")) as f:
            return f.read().strip() == "running"
    except FileNotFoundError:
        return False


class PtyEnd:
    """The master side of a pty, with the socket calls Vm uses."""

    def __init__(self, link):
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.link = link
        try:
            os.unlink(link)
        except FileNotFoundError:
            pass
        os.symlink(os.ttyname(self.slave), link)

    def fileno(self):
        return self.master

    def recv(self, n):
        try:
            return os.read(self.master, n)
        except BlockingIOError:
            raise
        except OSError:  # EIO: nobody holds the slave (cannot happen: we do)
            return b""

    def send(self, data):
        return os.write(self.master, data)

    def close(self):
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            os.unlink(self.link)
        except FileNotFoundError:
            pass


class Vm:
    def __init__(self, sel, sockdir, guestdir, vmid, pty=False):
        self.pty = pty
        self.sel = sel
        self.vmid = vmid
        self.host_path = os.path.join(sockdir, f"{vmid}.passdesk")
        self.guest_path = os.path.join(guestdir, f"{vmid}.guest")
        self.host_listen = self.guest_listen = None
        self.host = self.guest = None
        self.to_host = bytearray()
        self.to_guest = bytearray()

    def _listen(self, p):
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(p)
        s.listen(1)
        s.setblocking(False)
        return s

    def start(self):
        if self.pty:
            self.guest = PtyEnd(os.path.join(os.path.dirname(self.guest_path),
                                             f"{self.vmid}.port"))
        else:
            self.guest_listen = self._listen(self.guest_path)
        self.host_listen = self._listen(self.host_path)
        self.update()

    def stop(self):
        for name in ("host", "guest", "host_listen", "guest_listen"):
            s = getattr(self, name)
            if s is not None:
                try:
                    self.sel.unregister(s)
                except (KeyError, ValueError):
                    pass
                s.close()
                setattr(self, name, None)
        for p in (self.host_path, self.guest_path):
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass
        self.to_host.clear()
        self.to_guest.clear()

    @property
    def up(self):
        return self.host_listen is not None

    def drop(self, which):
        s = getattr(self, which)
        if s is not None:
            try:
                self.sel.unregister(s)
            except (KeyError, ValueError):
                pass
            s.close()
            setattr(self, which, None)
        if which == "host":
            self.to_host.clear()
            self.to_guest.clear()  # QEMU does not keep host bytes across clients
        else:
            self.to_guest.clear()
        self.update()

    def update(self):
        """(Re)registers every socket for what it should wait for now."""
        want = {}
        if self.host_listen is not None:
            want[self.host_listen] = selectors.EVENT_READ if self.host is None else 0
        if self.guest_listen is not None:
            want[self.guest_listen] = selectors.EVENT_READ if self.guest is None else 0
        if self.host is not None:
            ev = 0
            # Host bytes are read only while the guest's port is open.
            if self.guest is not None and len(self.to_guest) < BUF_MAX:
                ev |= selectors.EVENT_READ
            if self.to_host:
                ev |= selectors.EVENT_WRITE
            want[self.host] = ev
        if self.guest is not None:
            ev = 0
            if len(self.to_host) < BUF_MAX:
                ev |= selectors.EVENT_READ
            if self.to_guest:
                ev |= selectors.EVENT_WRITE
            want[self.guest] = ev
        for s, ev in want.items():
            try:
                key = self.sel.get_key(s)
                if ev == 0:
                    self.sel.unregister(s)
                elif key.events != ev:
                    self.sel.modify(s, ev, self)
            except KeyError:
                if ev:
                    self.sel.register(s, ev, self)

    def event(self, s, mask):
        if s not in (self.host_listen, self.guest_listen, self.host, self.guest):
            return  # closed earlier in this round
        if s is self.host_listen:
            c, _ = s.accept()
            c.setblocking(False)
            self.host = c
        elif s is self.guest_listen:
            c, _ = s.accept()
            c.setblocking(False)
            self.guest = c
        elif s is self.host:
            if mask & selectors.EVENT_READ:
                try:
                    data = s.recv(65536)
                except (BlockingIOError, InterruptedError):
                    data = None
                except OSError:
                    data = b""
                if data == b"":
                    return self.drop("host")
                if data:
                    self.to_guest += data
            if mask & selectors.EVENT_WRITE and self.to_host:
                try:
                    n = s.send(self.to_host)
                    del self.to_host[:n]
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    return self.drop("host")
        elif s is self.guest:
            if mask & selectors.EVENT_READ:
                try:
                    data = s.recv(65536)
                except (BlockingIOError, InterruptedError):
                    data = None
                except OSError:
                    data = b""
                if data == b"":
                    return self.drop("guest")
                if data and self.host is not None:
                    self.to_host += data
                # else: no host client, QEMU drops what the guest writes
            if mask & selectors.EVENT_WRITE and self.to_guest:
                try:
                    n = s.send(self.to_guest)
                    del self.to_guest[:n]
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    return self.drop("guest")
        self.update()


def main():
    args = sys.argv[1:]
    pty = args[0] == "--pty"
    if pty:
        args = args[1:]
    sockdir, guestdir, vmids = args[0], args[1], args[2:]
    sel = selectors.DefaultSelector()
    vms = [Vm(sel, sockdir, guestdir, v, pty) for v in vmids]
    running = [True]

    def on_term(*_):
        running[0] = False

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    while running[0]:
        for vm in vms:
            r = vm_running(vm.vmid)
            if r and not vm.up:
                vm.start()
            elif not r and vm.up:
                vm.stop()
        # Test harness: follow fake-qm's state at 20 Hz.
        for key, mask in sel.select(timeout=0.05):
            key.data.event(key.fileobj, mask)
    for vm in vms:
        vm.stop()


if __name__ == "__main__":
    main()
