"""ppc64le and s390x in the cluster spec: aliases, CPU and machine models, the TCG table."""

import copy

import pytest

from ansible_collections.q8s.cluster.plugins.module_utils import q8s_models as models
from ansible_collections.q8s.cluster.plugins.module_utils.q8s_spec import SpecError, normalise
from test_spec import valid

IMAGE = {"source": "/var/cache/q8s/debian-12-%s.qcow2", "checksum": "sha256:" + "0" * 64}


def spec_with(arch, cpu_model, machine=None, image=True, **extra):
    """The example spec plus one worker of a vm type ``power`` of ``arch``."""
    raw = valid()
    vm_type = copy.deepcopy(raw["vm_types"]["x86-small"])
    vm_type.update(architecture=arch, cpu_model=cpu_model, **extra)
    vm_type.pop("machine_model")
    if machine is not None:
        vm_type["machine_model"] = machine
    raw["vm_types"]["power"] = vm_type
    raw["cluster_definition"]["worker"]["power"] = 1
    canonical = models.canonical_architecture(arch)
    if image and canonical in ("ppc64le", "s390x"):
        raw["guest_images"] = {arch: dict(IMAGE, source=IMAGE["source"] % canonical)}
    return raw


def errors(raw):
    with pytest.raises(SpecError) as info:
        normalise(raw)
    return info.value.errors


def only_error(raw, field):
    messages = errors(raw)
    assert len(messages) == 1, messages
    assert messages[0].startswith(field + ":"), messages
    assert "Fix:" in messages[0]
    return messages[0]


@pytest.mark.parametrize(
    "arch,canonical,debian",
    [
        ("ppc64le", "ppc64le", "ppc64el"),
        ("ppc64el", "ppc64le", "ppc64el"),
        ("powerpc64le", "ppc64le", "ppc64el"),
        ("PPC64LE", "ppc64le", "ppc64el"),
        ("s390x", "s390x", "s390x"),
    ],
)
def test_architecture_aliases(arch, canonical, debian):
    model = "POWER9" if canonical == "ppc64le" else "qemu"
    vm_type = normalise(spec_with(arch, model))[0]["vm_types"]["power"]
    assert (vm_type["architecture"], vm_type["debian_arch"]) == (canonical, debian)


@pytest.mark.parametrize("arch,model,machine", [("ppc64le", "POWER9", "pseries"), ("s390x", "qemu", "s390-ccw-virtio")])
def test_default_machine(arch, model, machine):
    assert normalise(spec_with(arch, model))[0]["vm_types"]["power"]["machine_model"] == machine


@pytest.mark.parametrize(
    "arch,model,machine",
    [
        ("ppc64le", "POWER8", "pseries-7.2"),
        ("ppc64le", "POWER10", "pseries-2.1"),
        ("ppc64le", "POWER9", "pseries-10.1"),
        ("s390x", "max", "s390-ccw-virtio-7.2"),
        ("s390x", "qemu", "s390-ccw-virtio-2.4"),
    ],
)
def test_versioned_machines_accepted(arch, model, machine):
    assert normalise(spec_with(arch, model, machine))[0]["vm_types"]["power"]["machine_model"] == machine


@pytest.mark.parametrize(
    "arch,model,machine,fragment",
    [
        ("ppc64le", "POWER9", "pseries-2.0", "pseries, or a versioned one such as pseries-10.1"),
        ("ppc64le", "POWER9", "pseries-7.5", "is not a QEMU ppc64le machine model"),
        ("ppc64le", "POWER9", "pseries-2.12-sxxm", "is not a QEMU ppc64le machine model"),
        ("ppc64le", "POWER9", "psreies", "did you mean 'pseries'"),
        ("ppc64le", "POWER9", "powernv9", "is not a QEMU ppc64le machine model"),
        ("ppc64le", "POWER9", "s390-ccw-virtio", "is a QEMU s390x machine, but the type's architecture is ppc64le"),
        ("s390x", "qemu", "pseries-7.2", "is a QEMU ppc64le machine, but the type's architecture is s390x"),
        ("s390x", "qemu", "virt", "is a QEMU aarch64 machine"),
        ("s390x", "qemu", "s390-ccw-virtio-2.3", "s390-ccw-virtio, or a versioned one such as s390-ccw-virtio-10.1"),
        ("s390x", "qemu", "s390-ccw-vritio", "did you mean 's390-ccw-virtio'"),
        ("x86_64", "EPYC-Rome", "pseries", "is a QEMU ppc64le machine, but the type's architecture is x86_64"),
    ],
)
def test_bad_machine_names_the_field(arch, model, machine, fragment):
    message = only_error(spec_with(arch, model, machine), "vm_types.power.machine_model")
    assert fragment in message, message
    assert repr(machine) in message


@pytest.mark.parametrize(
    "arch,model,fragment",
    [
        # a model of another architecture: which one, and how to fix either side
        ("s390x", "POWER9", "is a ppc64le CPU model ('POWER9'), but the type's architecture is s390x"),
        ("s390x", "POWER9", "change architecture to ppc64le"),
        ("ppc64le", "qemu", "is an s390x CPU model ('qemu'), but the type's architecture is ppc64le"),
        ("ppc64le", "z14", "is an s390x CPU model ('z14')"),
        ("ppc64le", "EPYC-Rome", "is an x86_64 CPU model"),
        ("x86_64", "POWER9", "is a ppc64le CPU model ('POWER9')"),
        ("aarch64", "gen15a", "is an s390x CPU model ('gen15a')"),
        ("s390x", "cortex-a72", "is an aarch64 CPU model"),
        ("s390x", "cortex-a72", "choose an s390x model (for example qemu, max)"),
        ("ppc64le", "cortex-a72", "choose a ppc64le model (for example POWER9, POWER8, POWER10)"),
        # spelling and near misses
        ("ppc64le", "power9", "write 'POWER9'"),
        ("ppc64le", "POWER11", "did you mean 'POWER10'"),
        ("x86_64", "POWER11", "close to the ppc64le model 'POWER10'"),
        ("ppc64le", "host", "'host' does not exist under TCG"),
        ("s390x", "host", "such as qemu"),
    ],
)
def test_model_of_another_architecture_names_the_field(arch, model, fragment):
    message = only_error(spec_with(arch, model), "vm_types.power.cpu_model")
    assert fragment in message, message


@pytest.mark.parametrize(
    "arch,model,fragment",
    [
        ("ppc64le", "POWER7", "built for POWER8"),
        ("s390x", "z900", "requires more recent processor hardware"),
        ("s390x", "z14", "not available in the configuration"),
        ("s390x", "z13-base", "not available in the configuration"),
        ("s390x", "gen16a", "too new"),
    ],
)
def test_model_tcg_cannot_run_is_refused(arch, model, fragment):
    message = only_error(spec_with(arch, model), "vm_types.power.cpu_model")
    assert "TCG cannot run here" in message and fragment in message, message
    assert models.TCG_CHECKED_SOURCE in message
    assert "choose one of %s" % ", ".join(models.runnable_models(arch)) in message


def test_tcg_table_covers_every_model_it_gates():
    for arch in ("ppc64le", "s390x"):
        assert set(models.TCG_CHECKED[arch]) == set(models.CPU_MODELS[arch]), arch
        for model, (verdict, seconds, reason) in models.TCG_CHECKED[arch].items():
            assert verdict in ("ok", "failed") and seconds >= 0 and reason, (arch, model)
    assert models.runnable_models("ppc64le") == ["POWER8", "POWER9", "POWER10"]
    assert models.runnable_models("s390x") == ["qemu", "max"]
    # x86_64 and aarch64 are not gated by the table
    assert models.runnable_models("x86_64") == list(models.CPU_MODELS["x86_64"])


@pytest.mark.parametrize("arch,model", [(a, m) for a in ("ppc64le", "s390x") for m in models.runnable_models(a)])
def test_every_runnable_model_is_accepted(arch, model):
    assert normalise(spec_with(arch, model))[0]["vm_types"]["power"]["cpu_model"] == model


@pytest.mark.parametrize("arch,model", [("ppc64le", "POWER9"), ("ppc64el", "POWER9"), ("s390x", "qemu")])
def test_guest_image_is_required_for_a_new_architecture(arch, model):
    message = only_error(spec_with(arch, model, image=False), "guest_images.%s" % models.canonical_architecture(arch))
    assert "no default" in message and "set guest_images." in message


def test_no_image_needed_when_the_type_is_unused():
    raw = spec_with("s390x", "qemu", image=False)
    raw["cluster_definition"]["worker"]["power"] = 0
    normalise(raw)


def test_guest_image_keys_accept_the_aliases():
    raw = spec_with("ppc64el", "POWER9", image=False)
    raw["guest_images"] = {"ppc64el": dict(IMAGE, source="/img-ppc64el.qcow2")}
    assert normalise(raw)[0]["guest_images"]["ppc64le"]["source"] == "/img-ppc64el.qcow2"


def test_kubernetes_and_debian_names_differ_for_ppc64le():
    from ansible_collections.q8s.cluster.plugins.module_utils import q8s_verify

    assert models.DEBIAN_ARCH["ppc64le"] == "ppc64el" and models.KUBERNETES_ARCH["ppc64le"] == "ppc64le"
    for arch, kubernetes in (("ppc64le", "ppc64le"), ("s390x", "s390x"), ("aarch64", "arm64")):
        labels = q8s_verify.expected_labels("t", {"architecture": arch, "cpu_model": "m"})
        assert labels["kubernetes.io/arch"] == kubernetes
        assert q8s_verify.UNAME[arch] == arch
