"""plugins/modules/image_cache_info.py and the qemu_host role's image cache
(tasks_from: images), run through Ansible for real on localhost: files fetched with
get_url from file:// URLs, SUMS files in each format get_url reads, files pushed with
copy, and a cached image whose published checksum changed."""

import hashlib
import re

import pytest
from ansible.modules import get_url

import inventory_cases
from ansible_collections.q8s.cluster.plugins.modules import image_cache_info


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def run_module(**args):
    """The module's (rc, result) from an ad-hoc run on localhost."""
    return inventory_cases.run_module("q8s.cluster.image_cache_info", args)


@pytest.fixture
def source(tmp_path):
    """A published image (image.qcow2) with SUMS files beside it; returns its directory."""
    pub = tmp_path / "pub"
    pub.mkdir()
    (pub / "image.qcow2").write_bytes(b"image one")
    (pub / "other.img").write_bytes(b"other")
    (pub / "SHA256SUMS").write_text("%s *other.img\n%s  ./image.qcow2\n" % (sha256(b"other"), sha256(b"image one")))
    return pub


def test_reports_missing_matching_and_mismatched_images(tmp_path, source):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "good").write_bytes(b"image one")
    (cache / "stale").write_bytes(b"image two")
    (cache / "summed").write_bytes(b"image one")
    images = [
        {"name": "good", "checksum": "sha256:" + sha256(b"image one").upper(), "src": "/nowhere"},
        {"name": "stale", "checksum": "sha256:" + sha256(b"image one"), "url": "https://mirror.example/image.qcow2"},
        {"name": "summed", "checksum": "sha256:file://%s/SHA256SUMS" % source, "url": "file://%s/image.qcow2" % source},
        {"name": "absent", "checksum": "sha256:file:///no/such/SUMS", "url": "file:///no/such/image.qcow2"},
        {"name": "absent-hex", "checksum": "sha512:" + "ab" * 64, "url": "https://mirror.example/x.img"},
    ]
    rc, out = run_module(dir=str(cache), images=images)
    assert rc == 0, out
    assert out["changed"] is False
    assert out["missing"] == ["absent", "absent-hex"]
    assert out["mismatched"] == ["stale"]
    by_name = {i["name"]: i for i in out["images"]}
    assert by_name["good"]["matches"] is True
    assert by_name["summed"] == {"name": "summed", "exists": True, "expected": sha256(b"image one"), "found": sha256(b"image one"), "matches": True}
    assert by_name["stale"]["found"] == sha256(b"image two")
    # A missing image's SUMS file is not fetched (get_url does that when it fetches).
    assert by_name["absent"] == {"name": "absent", "exists": False, "expected": None, "found": None, "matches": None}
    assert by_name["absent-hex"]["expected"] == "ab" * 64


def test_fails_when_the_sums_file_of_a_cached_image_cannot_be_read_or_names_no_digest(tmp_path, source):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "img").write_bytes(b"image one")
    image = {"name": "img", "checksum": "sha256:file://%s/NOSUCHSUMS" % source, "url": "file://%s/image.qcow2" % source}
    rc, out = run_module(dir=str(cache), images=[image])
    assert rc != 0
    assert out["msg"].startswith("cannot fetch the checksum file file://%s/NOSUCHSUMS for the cached image img" % source), out
    image.update(checksum="sha256:file://%s/SHA256SUMS" % source, url="file://%s/unlisted.img" % source)
    rc, out = run_module(dir=str(cache), images=[image])
    assert rc != 0
    assert out["msg"] == "the checksum file file://%s/SHA256SUMS names no digest for unlisted.img (the cached image img)" % source, out


SUMS_CASES = [
    ["abc123"],
    ["abc123  image.img"],
    ["abc123 *image.img"],
    ["abc123  ./image.img"],
    ["SHA256 (image.img) = abc123"],
    ["SHA256 (other.img) = 111", "abc123  image.img", "222  image.img"],
    ["111  other.img", "", "abc123 image.img"],
    ["abc123", ""],
    ["111  sub/image.img"],
    ["not a sums line at all"],
    [],
]


@pytest.mark.parametrize("lines", SUMS_CASES)
def test_reads_a_sums_file_as_get_url_does(lines):
    """The digest for a file name is the one get_url itself would take from those lines."""
    theirs = next((digest for digest, path in get_url.parse_digest_lines(filename="image.img", lines=lines) if path == "image.img"), None)
    assert image_cache_info.digest_in_sums(lines, "image.img") == theirs


def test_masks_credentials_in_urls():
    assert image_cache_info.without_credentials("https://user:secret@mirror.example/SUMS") == "https://mirror.example/SUMS"
    assert image_cache_info.without_credentials("file:///srv/SUMS") == "file:///srv/SUMS"


def run_images(tmp_path, images):
    """qemu_host's `images` entry point on localhost; (rc, stdout)."""
    play = [
        {
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {
                    "ansible.builtin.include_role": {"name": "q8s.cluster.qemu_host", "tasks_from": "images"},
                    "vars": {"qemu_host_image_dir": str(tmp_path / "cache"), "qemu_host_images": images},
                }
            ],
        }
    ]
    proc = inventory_cases.run_local_playbook(play, tmp_path, {"ANSIBLE_NOCOLOR": "1"})
    return proc.returncode, proc.stdout + proc.stderr


def recap(output):
    line = next(line for line in output.splitlines() if line.startswith("localhost") and "ok=" in line)
    return dict(field.split("=") for field in line.split()[2:])


def test_the_role_fetches_once_and_never_replaces_a_cached_image(tmp_path, source):
    pushed = tmp_path / "pushed.img"
    pushed.write_bytes(b"pushed")
    images = [
        {"name": "img-a", "url": "file://%s/image.qcow2" % source, "checksum": "sha256:file://%s/SHA256SUMS" % source},
        {"name": "img-b", "src": str(pushed), "checksum": "sha256:" + sha256(b"pushed")},
    ]
    rc, out = run_images(tmp_path, images)
    assert rc == 0, out
    cached = tmp_path / "cache" / "img-a"
    assert cached.read_bytes() == b"image one"
    assert (tmp_path / "cache" / "img-b").read_bytes() == b"pushed"
    assert oct(cached.stat().st_mode & 0o777) == "0o444"

    rc, out = run_images(tmp_path, images)
    assert rc == 0, out
    assert recap(out)["changed"] == "0", out
    # Nothing is fetched or pushed again: both loops have no item.
    for task in ("Fetch the missing guest images (verified)", "Push the missing guest images from the controller"):
        assert re.search(r"%s\] \**\nskipping: \[localhost\]\n\n" % re.escape(task), out), out

    # The image is published again under the same URL: the run stops, the file stays.
    (source / "image.qcow2").write_bytes(b"image two")
    (source / "SHA256SUMS").write_text("%s  image.qcow2\n" % sha256(b"image two"))
    before = cached.stat()
    rc, out = run_images(tmp_path, images)
    assert rc != 0
    assert "%s is %s, not %s" % (cached, sha256(b"image one"), sha256(b"image two")) in " ".join(out.split()), out
    assert "never replaces one in place" in out
    assert cached.read_bytes() == b"image one"
    assert (cached.stat().st_ino, cached.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_the_role_stops_when_a_pushed_image_does_not_match(tmp_path):
    pushed = tmp_path / "pushed.img"
    pushed.write_bytes(b"not what the checksum says")
    rc, out = run_images(tmp_path, [{"name": "img-b", "src": str(pushed), "checksum": "sha256:" + sha256(b"pushed")}])
    assert rc != 0
    text = " ".join(out.split())
    assert "%s/cache/img-b (pushed from the controller) is %s, not %s" % (tmp_path, sha256(b"not what the checksum says"), sha256(b"pushed")) in text, out


def test_ignores_other_keys_and_names_a_malformed_item(tmp_path):
    rc, out = run_module(dir=str(tmp_path), images=[{"name": "a", "checksum": "sha256:" + "00" * 32, "mode": "0444"}])
    assert rc == 0, out
    assert out["missing"] == ["a"]
    rc, out = run_module(dir=str(tmp_path), images=[{"name": "../a", "checksum": "sha256:00"}])
    assert rc != 0
    assert out["msg"] == 'each image needs name (a file name) and checksum (<algorithm>:<digest or URL>), got {"name": "../a", "checksum": "sha256:00"}', out
