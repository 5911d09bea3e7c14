"""plugins/modules/host_state.py: the roles skip their tasks when it finds nothing that
differs, so it must never call a host as wanted where the task it stands for would
change something. Run through Ansible for real on localhost: the modules whose state it
reads (template, file, lineinfile) write first, then it compares; each kind of
difference is then made on purpose."""

import hashlib
import os
import shutil

import pytest

import inventory_cases
from ansible_collections.q8s.cluster.plugins.modules import host_state

# What a role's template holds: a managed-by line, blocks that trim_blocks folds, a
# trailing newline, and text that is not ASCII.
TEMPLATE = """# {{ ansible_managed }}
{% for port in ports %}
-A INPUT -p tcp --dport {{ port }} -j ACCEPT
{% endfor %}
{% if extra %}
# extra: {{ extra }}
{% endif %}
# caf\u00e9 {{ name }}

"""

CONF = '#user = "root"\n#group = "root"\nuser = "nobody"\nmax_files = 10\n'


def playbook(tmp_path, tasks):
    """Run tasks on localhost; returns each task's result."""
    play = [{"hosts": "localhost", "gather_facts": False, "vars": {"ports": [22, 68], "extra": "x", "name": "n1"}, "tasks": tasks}]
    proc = inventory_cases.run_local_playbook(play, tmp_path, inventory_cases.JSON_CALLBACK)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return inventory_cases.json_results(proc.stdout)


def test_nothing_differs_after_the_modules_wrote_the_state(tmp_path):
    """What template, file and lineinfile wrote is what host_state compares with the
    template lookup's checksum and lineinfile's rule: the roles' probe and their tasks agree."""
    (tmp_path / "rules.j2").write_text(TEMPLATE, encoding="utf-8")
    (tmp_path / "qemu.conf").write_text(CONF)
    (tmp_path / "qemu.conf").chmod(0o644)
    lines = {"user": 'user = "libvirt-qemu"', "group": 'group = "kvm"', "max_files": "max_files = 4096", "new_key": "new_key = 1"}
    conf = str(tmp_path / "qemu.conf")
    dest = str(tmp_path / "etc" / "rules")
    write = [
        {"ansible.builtin.file": {"path": str(tmp_path / "etc"), "state": "directory", "mode": "0750"}},
        {"ansible.builtin.template": {"src": str(tmp_path / "rules.j2"), "dest": dest, "mode": "0640"}},
        {
            "ansible.builtin.lineinfile": {"path": conf, "regexp": "^#?\\s*{{ item.key }}\\s*=", "line": "{{ item.value }}", "mode": "0600"},
            "loop": "{{ lines | dict2items }}",
            "vars": {"lines": lines},
        },
    ]
    probe = {
        "q8s.cluster.host_state": {
            "paths": [
                {"path": str(tmp_path / "etc"), "state": "directory", "mode": "0750"},
                {"path": dest, "mode": "0640", "checksum": "{{ lookup('ansible.builtin.template', '%s') | hash('sha1') }}" % (tmp_path / "rules.j2")},
                {"path": conf, "mode": "0600"},
                {"path": str(tmp_path / "gone"), "state": "absent"},
            ],
            "lines": [{"path": conf, "regexp": "^#?\\s*%s\\s*=" % key, "line": line} for key, line in lines.items()],
        }
    }
    results = playbook(tmp_path, write + [probe])
    assert results[-1]["differs"] == [], results[-1]
    assert results[-1]["changed"] is False
    # the probe's check: change each thing once and see it named
    os.chmod(dest, 0o644)
    with open(dest, "a", encoding="utf-8") as handle:
        handle.write("-A INPUT -j DROP\n")
    with open(conf, "a", encoding="utf-8") as handle:
        handle.write("#max_files = 10\n")
    (tmp_path / "gone").write_text("")
    results = playbook(tmp_path, [probe])
    assert results[-1]["differs"] == [
        "%s: content, mode 0644" % dest,
        "%s: present" % (tmp_path / "gone"),
        "%s: no line 'max_files = 4096'" % conf,
    ], results[-1]


def item(path, **kw):
    return dict(dict(path=str(path), state="file", checksum=None, mode=None, owner=None, group=None), **kw)


def test_paths(tmp_path):
    data = tmp_path / "f"
    data.write_bytes(b"one\n")
    data.chmod(0o644)
    digest = hashlib.sha1(b"one\n").hexdigest()
    me = __import__("pwd").getpwuid(os.getuid())[0]
    assert host_state.path_differs(item(data, checksum=digest.upper(), mode="0644", owner=me)) is None
    assert host_state.path_differs(item(data, checksum=digest, mode="644")) is None
    assert host_state.path_differs(item(data, checksum=hashlib.sha1(b"two\n").hexdigest())) == "%s: content" % data
    assert host_state.path_differs(item(data, mode="0755")) == "%s: mode 0644" % data
    assert host_state.path_differs(item(data, owner="q8s-nobody-such", group="q8s-nobody-such")) == "%s: owner, group" % data
    assert host_state.path_differs(item(data, state="directory")) == "%s: not a directory" % data
    assert host_state.path_differs(item(tmp_path, checksum=digest)) == "%s: not a file" % tmp_path
    assert host_state.path_differs(item(tmp_path / "none")) == "%s: missing" % (tmp_path / "none")
    assert host_state.path_differs(item(tmp_path / "none", state="absent")) is None
    link = tmp_path / "link"
    link.symlink_to(data)
    assert host_state.path_differs(item(link, checksum=digest)) == "%s: not a file" % link  # template would replace the link


def test_lines_follow_lineinfile(tmp_path):
    conf = tmp_path / "c"
    conf.write_text('#user = "root"\nuser = "a"\n')
    rule = dict(path=str(conf), regexp=r"^#?\s*user\s*=")
    assert host_state.line_differs(dict(rule, line='user = "a"')) is None
    conf.write_text('user = "a"\n#user = "root"\n')  # lineinfile replaces the last match
    assert host_state.line_differs(dict(rule, line='user = "a"')) is not None
    conf.write_text("")
    assert host_state.line_differs(dict(rule, line='user = "a"')) is not None  # lineinfile would append
    assert host_state.line_differs(dict(rule, path=str(tmp_path / "none"), line="x")) == "%s: missing" % (tmp_path / "none")


def test_sysctl_follows_ansible_posix(tmp_path):
    """The live value (/proc/sys) and the file's NAME=VALUE line, as ansible.posix.sysctl
    with sysctl_set keeps them."""
    with open("/proc/sys/kernel/ostype", encoding="utf-8") as handle:
        live = handle.read().strip()
    conf = tmp_path / "60-q8s.conf"
    conf.write_text("# q8s\nkernel.ostype = %s\n" % live)
    rule = dict(name="kernel.ostype", value=live, file=str(conf))
    assert host_state.sysctl_differs(rule) is None
    assert host_state.sysctl_differs(dict(rule, value="Plan9")) == "kernel.ostype: live value %s" % live
    conf.write_text("kernel.ostype=%s\nkernel.ostype=Plan9\n" % live)
    assert host_state.sysctl_differs(rule) is not None
    assert host_state.sysctl_differs(dict(rule, file=str(tmp_path / "none"))) is not None
    assert host_state.sysctl_differs(dict(rule, name="q8s.no.such")) == "q8s.no.such: live value None"


@pytest.mark.skipif(not shutil.which("virsh"), reason="needs virsh")
def test_packages_networks_services_and_commands():
    """dpkg, virsh (libvirt's test driver: network "default" is active and persistent but
    not started at boot), systemctl (no systemd here: a unit cannot be as wanted), and
    commands with the exit codes that mean nothing differs."""
    rc, out = inventory_cases.run_module(
        "q8s.cluster.host_state",
        dict(
            packages=["dpkg", "q8s-no-such-package"],
            libvirt_networks=["default", "q8s-none"],
            libvirt_uri="test:///default",
            services=["q8s-no-such.service"],
            commands=[dict(argv=["true"]), dict(argv=["sh", "-c", "exit 3"], rc=[0, 3]), dict(argv=["false"]), dict(argv=["/q8s/no/such"])],
        ),
    )
    assert rc == 0, out
    assert out["missing_packages"] == ["q8s-no-such-package"]
    assert out["differs"][0] == "package q8s-no-such-package: not installed"
    assert out["differs"][1].startswith("q8s-no-such.service: not ")
    assert out["differs"][2:] == [
        "libvirt network default: not autostart",
        "libvirt network q8s-none: not defined",
        "false: exit code 1",
        "/q8s/no/such: exit code None",
    ], out["differs"]


def test_a_bad_mode_is_refused():
    rc, out = inventory_cases.run_module("q8s.cluster.host_state", dict(paths=[dict(path="/etc", state="directory", mode="rwx")]))
    assert rc != 0 and "mode of /etc must be octal digits" in out["msg"], out
