"""The helpers of the Molecule scenarios' testinfra tests (tests/testinfra/q8s_testinfra.py),
checked without hosts: how a host is reached, waiting, and that they name what the roles'
scripts name (the ifb device) and read what tc prints."""

import re
import subprocess
import sys
from pathlib import Path

import jinja2
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "testinfra"))

import q8s_testinfra as helpers  # noqa: E402


@pytest.mark.parametrize("connection", ["podman", "containers.podman.podman", "q8s.cluster.podman"])
def test_podman_hosts_are_reached_with_podman_exec(connection):
    assert helpers.direct_spec("q8snb-host", {"ansible_connection": connection}) == "podman://q8snb-host"
    assert helpers.direct_spec("h", {"ansible_connection": connection, "ansible_host": "ctr"}) == "podman://ctr"


@pytest.mark.parametrize("hostvars", [{}, {"ansible_connection": "ssh"}, {"ansible_connection": "local"}])
def test_other_hosts_keep_testinfras_ansible_backend(hostvars):
    assert helpers.direct_spec("h", hostvars) is None


def test_eventually_returns_once_the_check_passes():
    calls = []

    def check():
        calls.append(1)
        assert len(calls) >= 3
        return "ok"

    assert helpers.eventually(check, timeout=5, interval=0) == "ok"
    assert len(calls) == 3


def test_eventually_raises_the_last_failure_after_the_timeout():
    def check():
        raise AssertionError("still wrong")

    with pytest.raises(AssertionError, match="still wrong"):
        helpers.eventually(check, timeout=0, interval=0)


def test_load_yaml_reads_the_checkout():
    assert helpers.load_yaml("roles", "link_profile", "defaults", "main.yml")["link_profile_script"] == "/usr/local/sbin/q8s-link-profile"


@pytest.mark.parametrize("guest", ["q8slp-x86-1", "a", "q8s-" + "x" * 59])
def test_ifb_name_is_the_scripts(guest):
    template = (ROOT / "roles" / "link_profile" / "templates" / "q8s-link-profile.sh.j2").read_text()
    function = re.search(r"^ifb_name\(\) \{.*?^\}$", template, re.M | re.S).group(0)
    assert "{{" not in function
    script = subprocess.run(["bash", "-c", function + '\nifb_name "$1"', "-", guest], capture_output=True, text=True, check=True).stdout
    assert helpers.ifb_name(guest) == script
    assert len(script) <= 15


def test_htb_rates_reads_tc_units():
    output = (
        "class htb 1:1 root prio 0 rate 20Mbit ceil 20Mbit burst 25000b cburst 25000b\n"
        "class htb 1:2 root prio 0 rate 2500Kbit ceil 2500Kbit burst 3200b cburst 3200b\n"
        "class htb 1:3 root prio 0 rate 1Gbit ceil 1Gbit burst 3200b cburst 3200b\n"
        "class htb 1:4 root prio 0 rate 800bit ceil 800bit burst 3200b cburst 3200b\n"
    )
    assert helpers.htb_rates(output) == [20e6, 2.5e6, 1e9, 800]
    assert helpers.htb_rates("") == []


def test_ssh_hosts_are_reached_with_the_values_ansible_templates():
    resolved = {
        "ansible_host": "10.79.16.10",
        "ansible_user": "q8s",
        "ansible_port": None,
        "ansible_ssh_private_key_file": "/var/tmp/nm-vmhost/id_ed25519",
        "ansible_ssh_common_args": "-o StrictHostKeyChecking=no",
        "ansible_become": True,
    }
    spec, kwargs = helpers.ssh_spec("nm-vmhost", resolved)
    assert spec == "ssh://q8s@10.79.16.10"
    control = kwargs.pop("controlpath")
    assert kwargs == {"sudo": True, "ssh_identity_file": "/var/tmp/nm-vmhost/id_ed25519", "ssh_extra_args": "-o StrictHostKeyChecking=no"}
    # one master connection per host, at a path without "%" (testinfra formats with it)
    assert control.startswith("/tmp/q8s-testinfra-") and "%" not in control
    other = helpers.ssh_spec("h", {"ansible_port": 2200})
    assert other[0] == "ssh://h:2200" and other[1]["sudo"] is False and other[1]["controlpath"] != control
    assert helpers.ssh_spec("h", {"ansible_connection": "containers.podman.podman"}) is None


QDISCS = """qdisc htb 1: root refcnt 2 r2q 10 default 0x1 direct_packets_stat 0 direct_qlen 1000
qdisc netem 10: parent 1:1 limit 20000 delay 20ms  5ms loss 5%
qdisc netem 1: root refcnt 2 limit 20000 delay 500us
qdisc netem 1: root refcnt 2 limit 20000 delay 1.5s
qdisc ingress ffff: parent ffff:fff1 ----------------
"""


def test_netem_delays_and_losses_are_read_from_tc():
    assert helpers.netem_delays_ms(QDISCS) == [20.0, 0.5, 1500.0]
    assert helpers.netem_losses(QDISCS) == [5.0, 0.0, 0.0]


def test_render_names_the_roles_paths():
    template = helpers.load_yaml("roles", "emulated_worker", "vars", "main.yml")["__emulated_worker_disk"]
    values = {"emulated_worker_disk_dir": "/d", "emulated_worker_name": "g-1"}
    assert helpers.render(template, values) == "/d/g-1.qcow2"


def test_render_refuses_an_undefined_name():
    with pytest.raises(jinja2.UndefinedError, match="emulated_worker_name"):
        helpers.render("{{ emulated_worker_disk_dir }}/{{ emulated_worker_name }}", {"emulated_worker_disk_dir": "/d"})


def test_module_utils_imports_the_checkouts_rules():
    cpu_speed = helpers.module_utils("q8s_cpu_speed")
    assert cpu_speed.__file__ == str(ROOT / "plugins" / "module_utils" / "q8s_cpu_speed.py")
    assert cpu_speed.cputune(50)["quota"] == cpu_speed.PERIOD_US // 2
