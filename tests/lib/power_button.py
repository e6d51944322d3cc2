"""power_button: the ACPI power button as a fixture, for the tests of what the
guest does after an ACCEPT (power-button.h, power-key-wait.h): sysfs entries
under a sysroot as the kernel shows them, and a FIFO carrying struct
input_event records as its /dev/input/eventN. Imported by
test-agent-shutdown.py and test-cli-cold-restart.py (tests/lib is on
PYTHONPATH)."""
import os
import struct

EV_KEY, KEY_POWER, EV_SYN = 1, 116, 0


def key_event(code, value):
    return struct.pack('llHHi', 0, 0, EV_KEY, code, value) + struct.pack('llHHi', 0, 0, EV_SYN, 0, 0)


def _write_attrs(dev, attrs):
    os.makedirs(os.path.join(dev, 'capabilities'))
    for attr, value in attrs:
        with open(os.path.join(dev, attr), 'w') as f:
            f.write(value + '\n')


def add(root, phys='LNXPWRBN/button/input0'):
    """The button as event3 under @root; returns (fd, path) of its FIFO."""
    _write_attrs(os.path.join(root, 'sys/class/input/event3/device'),
                 (('name', 'Power Button'), ('phys', phys), ('capabilities/key', '10000000000000 0')))
    # A keyboard that also has KEY_POWER must not be taken for the button.
    _write_attrs(os.path.join(root, 'sys/class/input/event1/device'),
                 (('name', 'AT Translated Set 2 keyboard'), ('phys', 'isa0060/serio0/input0'),
                  ('capabilities/key',
                   '402000000 3803078f800d001 feffffdfffefffff fffffffffffffffe')))
    os.makedirs(os.path.join(root, 'dev/input'), exist_ok=True)
    path = os.path.join(root, 'dev/input/event3')
    os.mkfifo(path)
    # O_RDWR keeps a writer, so the reader never sees the FIFO hang up.
    return os.open(path, os.O_RDWR | os.O_NONBLOCK), path


def press(fd):
    os.write(fd, key_event(KEY_POWER, 1) + key_event(KEY_POWER, 0))
