"""plugins/modules/guest_boot_wait.py, run through Ansible for real, with virsh against
libvirt's test driver: its built-in domain "test" runs; a test:///<file> node gives domains
in the states a QEMU host can show (shut off, crashed). A crash of a real QEMU process, and
the restart that follows it, is checked in Molecule's default scenario (side_effect.yml,
repair 3), where QEMU is killed while the guest boots."""

import shutil

import pytest

import inventory_cases
from ansible_collections.q8s.cluster.plugins.modules import guest_boot_wait

pytestmark = pytest.mark.skipif(not shutil.which("virsh"), reason="needs virsh")

READY = r"Cloud-init v\. \S+ (finished) at"
NODE = """<node>
  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>off</name><memory>1024</memory><os><type>hvm</type></os><test:runstate>5</test:runstate>
  </domain>
  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>boom</name><memory>1024</memory><os><type>hvm</type></os><test:runstate>6</test:runstate>
  </domain>
</node>
"""


@pytest.fixture
def wait(tmp_path):
    console = tmp_path / "console.log"
    qemu_log = tmp_path / "qemu.log"
    qemu_log.write_text("qemu-system-x86_64: warning: TCG doesn't support requested feature: CPUID.01H:ECX.vmx\nshutting down, reason=crashed\n")
    node = tmp_path / "node.xml"
    node.write_text(NODE)

    def run(name, uri="test:///default", **args):
        args = dict({"name": name, "uri": uri, "console": str(console), "regex": READY, "timeout": 3, "sleep": 0.2, "qemu_log": str(qemu_log)}, **args)
        return inventory_cases.run_module("q8s.cluster.guest_boot_wait", args)

    return {"run": run, "console": console, "node": "test://%s" % node}


def test_a_finished_first_boot_returns_its_match(wait):
    wait["console"].write_text("[  OK  ] Started ssh.service\nCloud-init v. 22.4.2 finished at Mon, 07 Dec 2026 12:00:00 +0000. Up 40 s\n")
    rc, out = wait["run"]("test")
    assert rc == 0, out
    assert out["match_groups"] == ["finished"] and out["restarted_after"] == [] and out["changed"] is False


def test_a_running_guest_that_never_finishes_times_out(wait):
    wait["console"].write_text("[    1.70] pci 0000:00:01.0: BAR 0\n")
    rc, out = wait["run"]("test")
    assert rc != 0
    assert out["msg"] == "Timeout when waiting for search string %s in %s" % (READY, wait["console"]), out
    assert out["state"].startswith("running") and out["elapsed"] >= 3


def test_a_guest_that_stopped_fails_at_once_naming_state_and_qemu_log(wait):
    rc, out = wait["run"]("off", uri=wait["node"], timeout=600)
    assert rc != 0
    assert out["elapsed"] < 60 and out["restarted_after"] == [], out
    assert out["msg"].startswith("the domain stopped before its first boot finished (virsh domstate: shut off (unknown)); last lines of "), out
    # QEMU's noise about CPU features is left out of the lines shown
    assert out["msg"].endswith("qemu.log:\nshutting down, reason=crashed"), out


def test_a_crashed_qemu_is_started_again_within_the_restarts(wait):
    rc, out = wait["run"]("boom", uri=wait["node"], timeout=600, restarts=0)
    assert rc != 0 and out["restarted_after"] == []
    assert "(virsh domstate: crashed (unknown));" in out["msg"], out
    # the test driver forgets the destroy between two virsh runs: the start that follows fails, and says so
    rc, out = wait["run"]("boom", uri=wait["node"], timeout=600, restarts=1)
    assert rc != 0 and out["restarted_after"] == ["crashed (unknown)"], out
    assert out["msg"].startswith("guest boom: QEMU stopped (crashed (unknown)); starting it again failed: "), out


def test_libvirt_that_does_not_know_the_domain_fails_naming_it(wait):
    rc, out = wait["run"]("not-there")
    assert rc != 0 and out["msg"].startswith("guest not-there: virsh --connect test:///default domstate failed: "), out


def test_states_that_stop_and_states_that_restart():
    assert [guest_boot_wait.stopped(s) for s in ("running (booted)", "paused (user)", "shut off (crashed)", "crashed (panicked)")] == [False, False, True, True]
    assert [guest_boot_wait.crashed(s) for s in ("shut off (shutdown)", "shut off (destroyed)", "shut off (crashed)", "crashed (panicked)")] == [
        False,
        False,
        True,
        True,
    ]
