#!/usr/bin/python3
"""End-to-end: the real `passdesk-hostd doctor` on the generated fixture host
trees (tests/fixtures/hosts/make-host-trees.py) with tests/fakes/fake-qm as `qm`
(FAKE_QM_DIR is the tree's /etc/pve/qemu-server), in text and --json, and
on this build machine, which is no Proxmox host. TAP output."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

SRC = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ["PASSDESK_BUILDDIR"]
HOSTD = os.path.join(BUILD, "hostlink", "hostd", "passdesk-hostd")
MAKE = os.path.join(SRC, "..", "fixtures", "hosts", "make-host-trees.py")
FAKES = os.path.join(SRC, "..", "fakes")

n = 0
failed = 0


def ok(cond, what, detail=""):
    global n, failed
    n += 1
    if cond:
        print(f"ok {n} - {what}")
    else:
        failed += 1
        print(f"not ok {n} - {what}")
        for line in str(detail).splitlines()[:40]:
            print(f"# {line}")


def run(tmp, tree, *args, env_root=False):
    root = os.path.join(tmp, tree)
    env = dict(os.environ, FAKE_QM_DIR=os.path.join(root, "etc/pve/qemu-server"))
    argv = [HOSTD, "-c", os.path.join(tmp, "hostd.conf"), "doctor"]
    if env_root:
        env["PASSDESK_HOST_ROOT"] = root
    else:
        argv += ["--root", root]
    p = subprocess.run(argv + list(args), env=env, capture_output=True, text=True, timeout=60)
    return p


def by_check(doc, check, vmid=None):
    return [f for f in doc["findings"] if f["check"] == check and (vmid is None or f["vmid"] == vmid)]


def main():
    tmp = tempfile.mkdtemp(prefix="doctor-e2e-")
    try:
        subprocess.run([MAKE, tmp], check=True)
        with open(os.path.join(tmp, "hostd.conf"), "w") as f:
            f.write(f"[global]\nqm={os.path.join(FAKES, 'fake-qm')}\nqm-timeout=10\n")

        # The guide's machines as set up: nothing fails, exit 0; VM 100 is
        # found without being named (it has the channel) and `qm config` ran.
        for machine, warn in (("n100", "acs-override"), ("esprimo", "network-reset")):
            p = run(tmp, machine, "--json")
            ok(p.returncode == 0, f"{machine}: exit 0", p.stdout + p.stderr)
            doc = json.loads(p.stdout)
            ok(doc["vms"] == [100] and doc["machine"] == machine and doc["proxmox"],
               f"{machine}: machine and VM 100 picked", doc)
            states = {(f["check"], f["state"]) for f in doc["findings"] if f["state"] != "ok"}
            ok(states == {(warn, "warn")}, f"{machine}: only the {warn} warning", states)
            ok(doc["summary"]["fail"] == 0 and doc["summary"]["state"] == "warn",
               f"{machine}: summary", doc["summary"])
            calls = open(os.path.join(tmp, machine, "etc/pve/qemu-server/calls.log")).read()
            ok('"config", "100"' in calls and '"200"' not in calls,
               f"{machine}: asked qm config 100, not about the ordinary VM 200", calls)

        # A broken variant: text output names the cause and the fix; exit 1.
        p = run(tmp, "esprimo-hookscript-missing")
        ok(p.returncode == 1, "hookscript missing: exit 1", p.stdout + p.stderr)
        ok("VM 100 (Debian-Esprimo-VGA)" in p.stdout, "text: the VM's heading", p.stdout)
        ok("  FAIL  VM 100's hookscript local:snippets/vm100-hooks.sh "
           "(/var/lib/vz/snippets/vm100-hooks.sh) is missing" in p.stdout,
           "text: the failed hookscript sentence", p.stdout)
        ok("        fix: Create /var/lib/vz/snippets/vm100-hooks.sh" in p.stdout,
           "text: the fix line", p.stdout)
        ok("1 failed, 1 warning," in p.stdout, "text: the summary line", p.stdout)

        # --json on another variant, through PASSDESK_HOST_ROOT.
        p = run(tmp, "n100-i915-bound", "--json", env_root=True)
        ok(p.returncode == 1, "i915 bound (PASSDESK_HOST_ROOT): exit 1", p.stdout + p.stderr)
        doc = json.loads(p.stdout)
        f = by_check(doc, "driver-igpu")
        ok(len(f) == 1 and f[0]["state"] == "fail" and "bound to i915" in f[0]["text"]
           and "update-initramfs -u -k all" in f[0]["fix"], "json: driver-igpu fail with fix", f)

        # Naming a VM: one that does not exist is a failed check, not a crash.
        p = run(tmp, "n100", "100", "101", "--json")
        doc = json.loads(p.stdout)
        f = by_check(doc, "vm-config", 101)
        ok(p.returncode == 1 and len(f) == 1 and "does not exist" in f[0]["text"],
           "VM 101 (no config): vm-config fail with qm's message", p.stdout)

        # Usage errors exit 2.
        p = run(tmp, "n100", "abc")
        ok(p.returncode == 2 and "not a VMID" in p.stderr, "bad VMID: exit 2", p.stderr)
        p = subprocess.run([HOSTD, "status", "--json"], capture_output=True, text=True)
        ok(p.returncode == 2, "--json without doctor: exit 2", p.stderr)
        p = subprocess.run([HOSTD, "--help"], capture_output=True, text=True)
        ok(p.returncode == 0 and "doctor [VMID...]" in p.stdout and "--json" in p.stdout
           and "--root" in p.stdout, "--help answers doctor", p.stdout)

        # This build machine: no Proxmox, no IOMMU. Plain words, what could
        # not be checked and why, exit 1.
        if os.path.isdir("/etc/pve"):
            ok(True, "# SKIP this machine is a Proxmox host")
        else:
            env = {k: v for k, v in os.environ.items() if k != "PASSDESK_HOST_ROOT"}
            p = subprocess.run([HOSTD, "-c", os.path.join(tmp, "hostd.conf"), "doctor"],
                               env=env, capture_output=True, text=True, timeout=60)
            ok(p.returncode == 1, "build machine: exit 1", p.stdout + p.stderr)
            ok("not a Proxmox VE host (there is no /etc/pve), so no VM could be checked"
               in p.stdout, "build machine: says it is no Proxmox host", p.stdout)
            ok("IOMMU" in p.stdout and "[iommu-kernel]" in p.stdout,
               "build machine: reports the IOMMU state", p.stdout)
            ok("checks were skipped" in p.stdout, "build machine: names the skipped checks",
               p.stdout)
            # The same with no qm at all (the shipped config off Proxmox): the
            # doctor still judges the machine instead of stopping at qm.
            noqm = os.path.join(tmp, "no-qm.conf")
            with open(noqm, "w") as f:
                f.write(f"[global]\nqm={tmp}/no-such-dir/qm\n")
            p = subprocess.run([HOSTD, "-c", noqm, "doctor"],
                               env=env, capture_output=True, text=True, timeout=60)
            ok(p.returncode == 1 and "[iommu-kernel]" in p.stdout
               and "checks were skipped" in p.stdout
               and "belongs on the Proxmox host" in p.stdout,
               "build machine without qm: the doctor judges it, says where hostd belongs",
               p.stdout + p.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"1..{n}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
